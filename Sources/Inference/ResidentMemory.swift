#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's resident memory, read from `/proc/self/statm` (Linux).
///
/// Used to measure what loading a module adds: read before, load (and run once, so that ONNX
/// Runtime's arenas are allocated), read after. Freed memory that the allocator kept is reused
/// without adding resident pages, so ``returnFreedMemory()`` hands it back before the first reading.
public enum ResidentMemory {
    /// Returns the allocator's free pages to the system (glibc's `malloc_trim`, looked up at run
    /// time as `malloc.h` is not in the Glibc module), so that a later reading counts new
    /// allocations instead of reused ones. Does nothing where the C library has no `malloc_trim`.
    public static func returnFreedMemory() {
        #if os(Linux)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        typealias MallocTrim = @convention(c) (Int) -> Int32
        _ = unsafeBitCast(symbol, to: MallocTrim.self)(0)
        #endif
    }

    /// Resident bytes of this process now.
    public static func currentBytes() throws(InferenceError) -> Int {
        let fd = open("/proc/self/statm", O_RDONLY)
        guard fd >= 0 else {
            throw InferenceError(.memoryUnavailable, "cannot open /proc/self/statm; resident memory is measured on Linux only")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        // Fields: total program size, resident set size, shared, text, lib, data, dirty (in pages).
        let fields = String(decoding: buffer.prefix(max(0, count)), as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let residentPages = Int(fields[1]) else {
            throw InferenceError(.memoryUnavailable, "cannot parse /proc/self/statm")
        }
        return residentPages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The process's peak resident bytes (`VmHWM` of `/proc/self/status`): the high-water mark since
    /// the process started or since ``resetPeak()``.
    public static func peakBytes() throws(InferenceError) -> Int {
        let fd = open("/proc/self/status", O_RDONLY)
        guard fd >= 0 else {
            throw InferenceError(.memoryUnavailable, "cannot open /proc/self/status; peak memory is measured on Linux only")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += buffer.prefix(count)
            guard bytes.count < 1 << 16 else { break }
        }
        // A line `VmHWM:     12345 kB`.
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count == 3, fields[2] == "kB", let kilobytes = Int(fields[1]), kilobytes >= 0, kilobytes < Int.max / 1024 {
                return kilobytes * 1024
            }
        }
        throw InferenceError(.memoryUnavailable, "cannot find VmHWM in /proc/self/status")
    }

    /// Resets the peak (``peakBytes()``) to the resident bytes of now, by writing `5` to
    /// `/proc/self/clear_refs` (Linux 4.0 and later). Returns false where that is not possible.
    @discardableResult
    public static func resetPeak() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return [UInt8(ascii: "5")].withUnsafeBytes { write(fd, $0.baseAddress, 1) } == 1
    }

    /// Runs `body` and returns its result with the resident bytes it added (may be negative if memory
    /// was returned to the system meanwhile).
    public static func measure<T, E: Error>(_ body: () async throws(E) -> T) async throws -> (value: T, addedBytes: Int) {
        let before = try currentBytes()
        let value = try await body()
        return (value, try currentBytes() - before)
    }
}
