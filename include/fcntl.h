/*
 * <fcntl.h> overlay for libneutrino: the system's, plus what QNX's <fcntl.h> brings with
 * it, <unistd.h> and <sys/stat.h>: QNX code uses STDOUT_FILENO, close(), S_IRUSR, ...
 * having included only <fcntl.h> (or <sys/dispatch.h>, which includes it).
 */
#if defined(__GNUC__)
#pragma GCC system_header /* #include_next is an extension -pedantic would flag */
#endif
#include_next <fcntl.h>

#include <unistd.h>
#include <sys/stat.h>
