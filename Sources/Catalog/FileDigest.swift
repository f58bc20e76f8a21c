import Foundation

/// sha256 of files, remembered next to each file (`<file>.sha256`: size, modification time and
/// digest) so that the several processes of a cluster do not each re-hash hundreds of megabytes at
/// start. A file whose size or modification time changed is hashed again, the way `git` trusts its
/// index; the remembered line is rewritten atomically, and an unwritable folder only costs the cache.
public enum FileDigest {
    /// The file's sha256 in hex, nil when it cannot be read.
    public static func sha256(ofFileAt path: String) -> String? {
        guard let stamp = stamp(of: path) else { return nil }
        let sidecar = path + ".sha256"
        if let line = try? String(contentsOfFile: sidecar, encoding: .utf8) {
            let fields = line.split(whereSeparator: \.isWhitespace).map(String.init)
            if fields.count == 2, fields[0] == stamp, fields[1].count == 64 { return fields[1] }
        }
        guard let digest = SHA256.hex(ofFileAt: path) else { return nil }
        try? "\(stamp) \(digest)\n".write(toFile: sidecar, atomically: true, encoding: .utf8)
        return digest
    }

    /// "size:mtime-seconds.nanoseconds" of a file, nil when it does not exist.
    static func stamp(of path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return "\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }
}
