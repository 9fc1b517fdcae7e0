#ifndef TETHER_CROCKSDB_SHIM_H
#define TETHER_CROCKSDB_SHIM_H
#include <rocksdb/c.h>
#endif
