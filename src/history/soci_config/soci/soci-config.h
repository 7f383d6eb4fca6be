// Shadows Debian's soci/soci-config.h (found first on the include path):
// libsoci-dev is built with Boost, so its config says SOCI_HAVE_BOOST and
// bind-values.h then includes Boost.Fusion, which libsoci-dev does not pull
// in. Forest binds no Boost types; without the macro the headers need
// nothing but the standard library (the library's ABI does not change: the
// macro only adds header templates for Boost types).
#pragma once

#include_next <soci/soci-config.h>

#undef SOCI_HAVE_BOOST
#undef SOCI_HAVE_BOOST_DATE_TIME
