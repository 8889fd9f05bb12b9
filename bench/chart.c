/*
 * chart.c - see chart.h.
 */
#include "chart.h"
#include "png.h"

#include <math.h>
#include <stdio.h>

#define W      1000
#define H      560
#define LEFT   80
#define RIGHT  300
#define TOP    56
#define BOTTOM 64

#define INK    0x202020u
#define GRID   0xdcdcdcu
#define WHITE  0xffffffu

static void size_label(char *buf, size_t n, double bytes)
{
    if (bytes >= 1048576) {
        snprintf(buf, n, "%gM", bytes / 1048576);
    } else if (bytes >= 1024) {
        snprintf(buf, n, "%gK", bytes / 1024);
    } else {
        snprintf(buf, n, "%g", bytes);
    }
}

int chart_write(const char *path, const char *title, const char *subtitle,
                const chart_series_t *s, int nseries)
{
    double   xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    double   x, y, d, ylo, yhi, xlo, xhi;
    int      i, j, px, py, lx = 0, ly = 0, have, pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
    static const double steps[3] = { 1, 2, 5 };
    char     buf[64];
    canvas_t c;

    for (i = 0; i < nseries; i++) {
        for (j = 0; j < s[i].n; j++) {
            if (s[i].us[j] > 0 && s[i].bytes[j] > 0) {
                xmin = fmin(xmin, s[i].bytes[j]);
                xmax = fmax(xmax, s[i].bytes[j]);
                ymin = fmin(ymin, s[i].us[j]);
                ymax = fmax(ymax, s[i].us[j]);
            }
        }
    }
    if (!(xmin <= xmax)) {
        xmin = 16, xmax = 65536, ymin = 0.1, ymax = 100;
    }
    xlo = log2(xmin);
    xhi = fmax(log2(xmax), xlo + 1);
    ylo = floor(log10(ymin));
    yhi = fmax(ceil(log10(ymax)), ylo + 1);
#define PX(v) (LEFT + (int)lround((log2(v) - xlo) / (xhi - xlo) * pw))
#define PY(v) (TOP + ph - (int)lround((log10(v) - ylo) / (yhi - ylo) * ph))

    if (canvas_init(&c, W, H, WHITE) != 0) {
        return -1;
    }
    canvas_text(&c, LEFT, 12, title, INK, 0);
    canvas_text(&c, LEFT, 30, subtitle, 0x606060u, 0);

    /* grid: every decade (labelled) and its 2x and 5x; every power of two in size */
    for (d = ylo; d <= yhi; d++) {
        for (i = 0; i < 3; i++) {
            y = pow(10, d) * steps[i];
            if (log10(y) > yhi + 1e-9) {
                break;
            }
            py = PY(y);
            canvas_line(&c, LEFT, py, LEFT + pw, py, 1, i == 0 ? GRID : 0xf0f0f0u);
            if (i == 0) {
                snprintf(buf, sizeof buf, "%g", y);
                canvas_text(&c, LEFT - 8 - canvas_text_width(buf), py - FONT_H / 2, buf, INK, 0);
            }
        }
    }
    for (x = pow(2, ceil(xlo)); log2(x) <= xhi + 1e-9; x *= 2) {
        px = PX(x);
        canvas_line(&c, px, TOP, px, TOP + ph, 1, GRID);
        if (((int)lround(log2(x)) - (int)ceil(xlo)) % 2 == 0) {
            size_label(buf, sizeof buf, x);
            canvas_text(&c, px - canvas_text_width(buf) / 2, TOP + ph + 8, buf, INK, 0);
        }
    }
    canvas_line(&c, LEFT, TOP, LEFT, TOP + ph, 1, INK);
    canvas_line(&c, LEFT, TOP + ph, LEFT + pw, TOP + ph, 1, INK);
    canvas_text(&c, LEFT + pw / 2 - canvas_text_width("message size (bytes, each way)") / 2,
                H - 26, "message size (bytes, each way)", INK, 0);
    canvas_text(&c, 14, TOP + ph / 2 + canvas_text_width("round trip (us)") / 2,
                "round trip (us)", INK, 1);

    for (i = 0; i < nseries; i++) {
        have = 0;
        for (j = 0; j < s[i].n; j++) {
            if (!(s[i].us[j] > 0)) {
                have = 0;
                continue;
            }
            px = PX(s[i].bytes[j]);
            py = PY(s[i].us[j]);
            if (have) {
                canvas_line(&c, lx, ly, px, py, 3, s[i].rgb);
            }
            canvas_rect(&c, px - 3, py - 3, px + 3, py + 3, s[i].rgb);
            lx = px, ly = py, have = 1;
        }
    }

    /* legend, right of the plot */
    for (i = 0; i < nseries; i++) {
        px = LEFT + pw + 20;
        py = TOP + 8 + i * 22;
        canvas_rect(&c, px, py + 5, px + 24, py + 8, s[i].rgb);
        canvas_text(&c, px + 32, py, s[i].name, INK, 0);
    }
    i = canvas_write_png(&c, path);
    canvas_free(&c);
    return i;
}
