#if canImport(Glibc)
import Glibc
#endif

/// glibc malloc settings that keep message-sized buffers in the heap: every `s2m3` process applies
/// them first thing in `main`, and the brokers `LocalBroker` starts get them as `GLIBC_TUNABLES`.
///
/// By default glibc serves an allocation of 128 KB or more with a fresh `mmap` (the threshold
/// then follows the largest block freed) and hands the top of the heap back to the system once it
/// exceeds twice that threshold. A message is copied into new buffers on its way: the broker's
/// packet, its stored message and its outgoing packet; the client's packet, libmosquitto's message
/// and S2M3's copy. With the defaults each is new pages, faulted in one by one and unmapped again,
/// with a TLB shoot-down on every core in a multi-threaded process. `scripts/bench/heap-tuning.sh`
/// (docs/benchmarks.md, "MQTT bus: heap tuning") measures both ways.
///
/// The price: up to ``trimThreshold`` of freed memory may stay mapped at the top of each malloc
/// arena. Device agents still return free pages after each model run (`malloc_trim`), and blocks
/// from ``mmapThreshold`` up (model weights, large tensors) are still mapped and unmapped one by one.
/// An operator's own `GLIBC_TUNABLES` with malloc settings wins: then nothing is changed.
public enum HeapTuning {
    /// Blocks at least this large get their own mapping (glibc's default starts at 128 KB).
    public static let mmapThreshold = 8 << 20
    /// Free memory at the top of the heap beyond this is returned to the system.
    public static let trimThreshold = 16 << 20

    /// The same settings for a child process (read by glibc at its start); empty when the
    /// operator set their own malloc tunables, which the child then inherits.
    public static var childEnvironment: [String: String] {
        operatorTunes ? [:] : ["GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=\(mmapThreshold):glibc.malloc.trim_threshold=\(trimThreshold)"]
    }

    /// Applies the settings to this process (glibc's `mallopt`, looked up at run time as
    /// `malloc.h` is not in the Glibc module). Call once, first thing in `main`. Returns whether
    /// both were taken; false where the C library has no `mallopt` or refused them.
    @discardableResult
    public static func applyToThisProcess() -> Bool {
        #if os(Linux)
        guard !operatorTunes, let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        // malloc.h: M_TRIM_THRESHOLD -1, M_MMAP_THRESHOLD -3; mallopt returns 1 on success.
        return mallopt(-3, Int32(mmapThreshold)) == 1 && mallopt(-1, Int32(trimThreshold)) == 1
        #else
        return false
        #endif
    }

    private static var operatorTunes: Bool {
        getenv("GLIBC_TUNABLES").map { String(cString: $0).contains("glibc.malloc.") } ?? false
    }
}
