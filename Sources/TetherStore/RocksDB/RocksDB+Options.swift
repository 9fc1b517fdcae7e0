import CRocksDB

extension RocksDB {
    /// A block compression algorithm compiled into the system's librocksdb.
    ///
    /// Debian's librocksdb 7.8 links snappy, zlib, bz2, lz4 and zstd; this type offers the
    /// ones worth using on a coordinator.
    public enum Compression: String, Sendable, CaseIterable {
        /// No compression: the cheapest CPU-wise, the most disk.
        case none
        /// Snappy: fast, a modest ratio.
        case snappy
        /// LZ4: fast, a modest ratio; the default for all levels but the last.
        case lz4
        /// Zstandard: slower, a better ratio; the default for the bottommost level.
        case zstd

        var cValue: Int32 {
            switch self {
            case .none: Int32(rocksdb_no_compression)
            case .snappy: Int32(rocksdb_snappy_compression)
            case .lz4: Int32(rocksdb_lz4_compression)
            case .zstd: Int32(rocksdb_zstd_compression)
            }
        }
    }

    /// How a database is opened and tuned; the defaults suit a coordinator's run state.
    ///
    /// Level-style compaction with dynamic level sizes, a full bloom filter on the
    /// block-based table (point lookups of absent keys skip most files), LZ4 on the upper
    /// levels and Zstandard on the bottommost one.
    public struct Options: Sendable, Equatable {
        /// Creates the database when the directory holds none (never with ``readOnly``).
        public var createIfMissing = true
        /// Opens the database read-only (`rocksdb_open_for_read_only`): every write throws,
        /// nothing in the directory is changed (not even the info log), no lock is taken, so
        /// another process may have the directory open. Its WAL is replayed into memory only.
        /// For inspecting a copy, such as a backup being verified.
        public var readOnly = false
        /// Size of one memtable before it is flushed to an SST file.
        public var writeBufferSizeBytes = 64 * 1024 * 1024
        /// Most memtables (the active one plus those being flushed) kept in memory.
        public var maxWriteBufferCount = 3
        /// Most SST files kept open; `-1` keeps every file open.
        public var maxOpenFiles = 1_024
        /// Size of the LRU cache of uncompressed blocks (shared by data, index and filter blocks).
        public var blockCacheBytes = 64 * 1024 * 1024
        /// Bits per key of the bloom filter; `0` disables the filter.
        public var bloomFilterBitsPerKey = 10.0
        /// Compression of every level but the bottommost.
        public var compression: Compression = .lz4
        /// Compression of the bottommost level, which holds most of the data.
        public var bottommostCompression: Compression = .zstd
        /// Background threads for flushes and compactions (`increase_parallelism`).
        public var backgroundThreadCount = 2
        /// Bytes written to an SST file between background `fsync`s (smooths I/O); `0` disables.
        public var bytesPerSync = 1024 * 1024
        /// Collects RocksDB statistics, readable with ``RocksDB/statisticsReport()``; costs a
        /// few percent of throughput.
        public var enableStatistics = false
        /// Writes are refused with code `no_space` while the volume of the data directory has
        /// less free space than this; `0` disables the check.
        ///
        /// Keeps RocksDB itself from running out of space, which on RocksDB 7.8 stops every
        /// later write until a ``RocksDB/reopen()`` (and may abort the process, see
        /// DiskSpaceGuard.swift). Leaves room for memtable flushes and compactions.
        public var minFreeDiskBytes = 256 * 1024 * 1024
        /// Most info-log files (`LOG.old.*`) kept in the data directory.
        public var keptInfoLogFileCount = 5
        /// Size at which the info log (`LOG`) is rotated.
        public var maxInfoLogFileBytes = 16 * 1024 * 1024

        /// Creates the default options.
        public init() {}

        /// Builds a `rocksdb_options_t`; the caller owns it.
        func makeCOptions() -> OpaquePointer {
            let options = rocksdb_options_create()!
            rocksdb_options_set_create_if_missing(options, createIfMissing && !readOnly ? 1 : 0)
            rocksdb_options_increase_parallelism(options, Int32(clamping: backgroundThreadCount))
            rocksdb_options_set_compaction_style(options, Int32(rocksdb_level_compaction))
            rocksdb_options_set_level_compaction_dynamic_level_bytes(options, 1)
            rocksdb_options_set_write_buffer_size(options, max(writeBufferSizeBytes, 64 * 1024))
            rocksdb_options_set_max_write_buffer_number(options, Int32(clamping: max(maxWriteBufferCount, 2)))
            rocksdb_options_set_max_open_files(options, Int32(clamping: maxOpenFiles))
            rocksdb_options_set_compression(options, compression.cValue)
            rocksdb_options_set_bottommost_compression(options, bottommostCompression.cValue)
            rocksdb_options_set_bytes_per_sync(options, UInt64(max(bytesPerSync, 0)))
            rocksdb_options_set_keep_log_file_num(options, max(keptInfoLogFileCount, 1))
            rocksdb_options_set_max_log_file_size(options, max(maxInfoLogFileBytes, 0))
            if enableStatistics {
                rocksdb_options_enable_statistics(options)
            }

            let table = rocksdb_block_based_options_create()
            defer { rocksdb_block_based_options_destroy(table) }
            rocksdb_block_based_options_set_format_version(table, 5)
            // Few shards: each LRU shard holds capacity / 2^bits, and a block larger than its
            // shard is read from the file again at every use.
            let cacheOptions = rocksdb_lru_cache_options_create()!
            defer { rocksdb_lru_cache_options_destroy(cacheOptions) }
            rocksdb_lru_cache_options_set_capacity(cacheOptions, max(blockCacheBytes, 0))
            rocksdb_lru_cache_options_set_num_shard_bits(cacheOptions, 4)
            let cache = rocksdb_cache_create_lru_opts(cacheOptions)
            rocksdb_block_based_options_set_block_cache(table, cache)
            // The table options hold their own reference to the cache.
            rocksdb_cache_destroy(cache)
            rocksdb_block_based_options_set_cache_index_and_filter_blocks(table, 1)
            rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(table, 1)
            // Indexes and bloom filters in 4 KiB partitions under a small pinned top level: a
            // point read loads the one partition it needs into the cache, where a whole filter
            // (megabytes for a 64 MiB file of small keys) would be read at every miss. Files
            // written before keep their format and stay readable.
            rocksdb_block_based_options_set_index_type(table, Int32(rocksdb_block_based_table_index_type_two_level_index_search))
            rocksdb_block_based_options_set_partition_filters(table, 1)
            rocksdb_block_based_options_set_metadata_block_size(table, 4_096)
            rocksdb_block_based_options_set_pin_top_level_index_and_filter(table, 1)
            if bloomFilterBitsPerKey > 0 {
                // The table options take ownership of the policy.
                rocksdb_block_based_options_set_filter_policy(
                    table,
                    rocksdb_filterpolicy_create_bloom_full(bloomFilterBitsPerKey)
                )
            }
            // The options copy the table options into their table factory.
            rocksdb_options_set_block_based_table_factory(options, table)
            return options
        }
    }
}
