import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time spent by processes and by the whole machine, read from `/proc` (Linux): where the
/// cores went during a throughput run of `s2m3 bench cluster`. Readings are nil (or 0) where `/proc`
/// is not there.
public struct ProcessCPU: Sendable {
    /// Named processes: a role (e.g. "devices") may hold several pids, summed.
    public let roles: [(role: String, pids: [Int32])]

    public init(roles: [(role: String, pids: [Int32])]) { self.roles = roles }

    /// CPU seconds per role, and the machine's busy seconds over all cores, at one instant.
    public struct Reading: Sendable {
        public var byRole: [String: Double]
        public var machineBusy: Double
        public var at: ContinuousClock.Instant
    }

    /// CPU seconds used between two readings, per role and for the machine, and the wall seconds.
    public struct Usage: Sendable, Equatable {
        public var byRole: [String: Double]
        public var machineBusy: Double
        public var wallSeconds: Double

        /// What the machine was busy with beyond the named roles (other jobs, the kernel's own threads).
        public var unaccounted: Double { max(0, machineBusy - byRole.values.reduce(0, +)) }
        /// The machine's busy time ÷ wall time: how many cores were busy on average.
        public var coresBusy: Double { wallSeconds > 0 ? machineBusy / wallSeconds : 0 }
    }

    public func read() -> Reading {
        var byRole: [String: Double] = [:]
        for (role, pids) in roles {
            byRole[role, default: 0] += pids.compactMap(Self.seconds(pid:)).reduce(0, +)
        }
        return Reading(byRole: byRole, machineBusy: Self.machineBusySeconds() ?? 0, at: .now)
    }

    public static func usage(from start: Reading, to end: Reading) -> Usage {
        var byRole: [String: Double] = [:]
        for (role, seconds) in end.byRole { byRole[role] = max(0, seconds - (start.byRole[role] ?? 0)) }
        let wall = end.at - start.at
        return Usage(
            byRole: byRole, machineBusy: max(0, end.machineBusy - start.machineBusy),
            wallSeconds: Double(wall.components.seconds) + Double(wall.components.attoseconds) * 1e-18)
    }

    /// Clock ticks per second of `/proc`'s CPU times.
    public static let ticksPerSecond = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))

    /// User + system CPU seconds of `pid` (its threads included), or nil when it cannot be read.
    public static func seconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return seconds(stat: text)
    }

    /// utime + stime (fields 14 and 15) of a `/proc/PID/stat` line. The command name (field 2)
    /// is in parentheses and may hold spaces and parentheses, so fields are counted after its last ')'.
    public static func seconds(stat text: String) -> Double? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (the state), so utime (14) and stime (15) are fields[11] and fields[12].
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / ticksPerSecond
    }

    /// Busy CPU seconds of the machine, all cores: the `cpu` line of `/proc/stat` less idle and iowait.
    public static func machineBusySeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        return machineBusySeconds(stat: text)
    }

    /// user, nice, system, irq, softirq and steal of the first (`cpu`) line; guest time is inside user.
    public static func machineBusySeconds(stat text: String) -> Double? {
        guard let line = text.split(separator: "\n").first, line.hasPrefix("cpu ") else { return nil }
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 8 else { return nil }
        let busy = values[0] + values[1] + values[2] + values[5] + values[6] + values[7]
        return busy / ticksPerSecond
    }
}
