// Open MPI's C API (libopenmpi-dev, pkg-config ompi-c). Its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are
// macros that take the address of library globals, which Swift cannot import: these inline functions return them.
#include <mpi.h>

static inline MPI_Comm pretrain_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm pretrain_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype pretrain_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype pretrain_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype pretrain_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype pretrain_mpi_int(void) { return MPI_INT; }
static inline MPI_Op pretrain_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Info pretrain_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Request pretrain_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Errhandler pretrain_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Status *pretrain_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline int pretrain_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline int pretrain_mpi_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static inline int pretrain_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int pretrain_mpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
static inline void *pretrain_mpi_in_place(void) { return MPI_IN_PLACE; }
