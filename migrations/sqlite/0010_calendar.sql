-- A school's holidays (its weekend is the `weekend_days` setting): leave is counted in
-- school days, and a range that is all holidays is refused.
CREATE TABLE school_holidays (
    day  DATE PRIMARY KEY,
    name TEXT NOT NULL
);
