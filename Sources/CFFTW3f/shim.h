// Single-precision FFTW (fftwf_*); fftwf_complex imports as (Float, Float).
#include <fftw3.h>
