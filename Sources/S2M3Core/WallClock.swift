import Foundation

/// Wall-clock time as the messages carry it (`timestampMs`, `createdAtMs`, deadlines): whole
/// milliseconds since 1970. The one place it is read, so every service stamps the same way.
public enum WallClock {
    public static var milliseconds: Int { Int(exactMilliseconds.rounded(.down)) }

    /// The same reading with its fraction of a millisecond (for a duration between two readings).
    public static var exactMilliseconds: Double { Date().timeIntervalSince1970 * 1000 }
}
