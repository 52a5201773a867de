/*
 * banned.h — functions shapesync code must not call.
 * Each is replaced by a macro that fails to compile, so a slip is caught at
 * build time: use ss_buf / snprintf / strtok_r / gmtime_r / localtime_r.
 */
#ifndef SS_BANNED_H
#define SS_BANNED_H

#define SS_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) SS_BANNED(strcpy)
#undef strcat
#define strcat(x, y) SS_BANNED(strcat)
#undef sprintf
#define sprintf(...) SS_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) SS_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) SS_BANNED(strtok)
#undef gmtime
#define gmtime(t) SS_BANNED(gmtime)
#undef localtime
#define localtime(t) SS_BANNED(localtime)
#undef atoi
#define atoi(x) SS_BANNED(atoi)

#endif
