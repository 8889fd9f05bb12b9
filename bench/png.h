/*
 * png.h - a tiny RGB canvas (filled rectangles, thick lines, 8x13 bitmap text) and a
 * self-contained PNG writer, so the benchmark can draw its chart with no other tool.
 */
#ifndef BENCH_PNG_H
#define BENCH_PNG_H

#include <stdint.h>

#define FONT_W 8
#define FONT_H 13

typedef struct {
    int            w, h;
    unsigned char *px;          /* w * h RGB triples, row by row */
} canvas_t;

int  canvas_init(canvas_t *c, int w, int h, uint32_t rgb);
void canvas_free(canvas_t *c);
void canvas_rect(canvas_t *c, int x0, int y0, int x1, int y1, uint32_t rgb);
void canvas_line(canvas_t *c, int x0, int y0, int x1, int y1, int thick, uint32_t rgb);
/* Text with its top-left corner at (x, y); `up` draws it rotated to read bottom to top,
 * starting at (x, y) and going up. Returns the width in pixels. */
int  canvas_text(canvas_t *c, int x, int y, const char *s, uint32_t rgb, int up);
int  canvas_text_width(const char *s);
int  canvas_write_png(const canvas_t *c, const char *path);

#endif
