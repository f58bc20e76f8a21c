import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Time marks along a message's way through a process, for finding where a hop's time goes
/// (docs/benchmarks.md, "Inside one hop"). Off unless `S2M3_HOP_TRACE` names a folder: then each
/// process appends `<CLOCK_MONOTONIC ns> <label>` lines to `<folder>/<command>-<id or pid>.trace`,
/// written by a background thread every 200 ms and at exit. The clock is the same for every
/// process of one machine, so `scripts/bench/hop-trace.py` can merge the files.
///
/// Off, a mark costs one check of a global. On, it takes a lock and appends to memory.
public enum HopTrace {
    /// The process's recorder, from the environment at first use.
    static let recorder: Recorder? = {
        guard let folder = ProcessInfo.processInfo.environment["S2M3_HOP_TRACE"], !folder.isEmpty else { return nil }
        let recorder = Recorder(path: (folder as NSString).appendingPathComponent("\(processName(CommandLine.arguments)).trace"))
        recorder.startFlushing()
        atexit { HopTrace.recorder?.flush() }
        return recorder
    }()

    /// Whether marks are recorded in this process.
    public static var isOn: Bool { recorder != nil }

    /// Records `label` now; the label is only built when tracing is on.
    @inlinable
    public static func mark(_ label: @autoclosure () -> String) {
        if isOn { record(label()) }
    }

    @usableFromInline
    static func record(_ label: String) { recorder?.mark(label) }

    /// `device-box-1`, `aggregator-agg-1`, `planner-4242`: the subcommand and its `--id`, else the pid.
    static func processName(_ arguments: [String]) -> String {
        let command = arguments.dropFirst().first { !$0.hasPrefix("-") } ?? "s2m3"
        let id = arguments.firstIndex(of: "--id").flatMap { arguments.indices.contains($0 + 1) ? arguments[$0 + 1] : nil }
        let name = "\(command)-\(id ?? String(getpid()))"
        return String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    /// Marks kept in memory until the next flush appends them to the file.
    final class Recorder: Sendable {
        let path: String
        private let pending = LockedState<[(UInt64, String)]>([])

        /// Creates the file, and its folder when missing; says so on standard error when it cannot.
        init(path: String) {
            self.path = path
            let folder = (path as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            if !FileManager.default.createFile(atPath: path, contents: nil) {
                FileHandle.standardError.write(Data("S2M3_HOP_TRACE: cannot create '\(path)'; no marks are written\n".utf8))
            }
        }

        func mark(_ label: String) {
            var time = timespec()
            clock_gettime(CLOCK_MONOTONIC, &time)
            let ns = UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
            pending.withLock { $0.append((ns, label)) }
        }

        /// Appends the pending marks to the file.
        func flush() {
            let marks = pending.withLock { marks in
                defer { marks.removeAll(keepingCapacity: true) }
                return marks
            }
            guard !marks.isEmpty, let file = FileHandle(forWritingAtPath: path) else { return }
            defer { try? file.close() }
            var text = ""
            for (ns, label) in marks { text += "\(ns) \(label)\n" }
            _ = try? file.seekToEnd()
            try? file.write(contentsOf: Data(text.utf8))
        }

        func startFlushing() {
            let thread = Thread { [self] in
                while true {
                    Thread.sleep(forTimeInterval: 0.2)
                    flush()
                }
            }
            thread.name = "s2m3-hop-trace"
            thread.start()
        }
    }
}
