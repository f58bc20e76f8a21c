import Foundation

/// The set-up's cache, `${S2M3_CACHE:-.cache}` (scripts/setup.sh fills it): the one place the
/// commands resolve it and the folders in it.
public enum CacheDirectory {
    /// `$S2M3_CACHE` when set and not empty, else `.cache` (relative to the current directory).
    public static let path: String = ProcessInfo.processInfo.environment["S2M3_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? ".cache"

    /// A file or folder in the cache.
    public static func file(_ relativePath: String) -> String { (path as NSString).appendingPathComponent(relativePath) }

    /// The module files: `${S2M3_CACHE:-.cache}/models`.
    public static var models: String { file("models") }

    /// The demo and benchmark inputs: `${S2M3_CACHE:-.cache}/fixtures`.
    public static var fixtures: String { file("fixtures") }
}
