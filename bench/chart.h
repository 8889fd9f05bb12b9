/*
 * chart.h - the benchmark's PNG chart: round-trip latency by message size, one line per
 * series, both axes logarithmic.
 */
#ifndef BENCH_CHART_H
#define BENCH_CHART_H

#include <stdint.h>

#define CHART_MAX_POINTS 16

typedef struct {
    const char *name;
    uint32_t    rgb;
    int         n;
    double      bytes[CHART_MAX_POINTS];
    double      us[CHART_MAX_POINTS];       /* <= 0: no measurement */
} chart_series_t;

int chart_write(const char *path, const char *title, const char *subtitle,
                const chart_series_t *s, int nseries);

#endif
