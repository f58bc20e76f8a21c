import Foundation

/// Wall-clock time as the messages carry it (`timestampMs`, `createdAtMs`, deadlines): whole
/// milliseconds since 1970. The one place it is read, so every service stamps the same way.
public enum WallClock {
    public static var milliseconds: Int { Int((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
