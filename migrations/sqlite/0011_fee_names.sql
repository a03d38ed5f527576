-- A fee line's name in Urdu and Arabic, where the school gives them (optional fee CSV
-- columns description_ur and description_ar): the chat shows the name in the person's
-- language, else the school's `description` as written.
ALTER TABLE fee_lines ADD COLUMN description_ur TEXT;
ALTER TABLE fee_lines ADD COLUMN description_ar TEXT;
