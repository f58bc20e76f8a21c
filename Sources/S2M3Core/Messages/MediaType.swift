/// Content types S2M3 understands on request topics.
public enum MediaType {
    public static let json = "application/json"
    public static let jpeg = "image/jpeg"
    public static let png = "image/png"
    public static let wav = "audio/wav"
    public static let text = "text/plain"

    /// Media a request may carry as an input (bare or inside JSON or a bundle).
    public static let supportedMedia: Set<String> = [jpeg, png, wav]

    /// The bare type: lower-cased, parameters dropped, `audio/x-wav` and `audio/wave` read as
    /// `audio/wav`, `image/jpg` as `image/jpeg`.
    public static func normalize(_ contentType: String) -> String {
        let bare = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        let lowered = bare.trimmingWhitespace().lowercased()
        switch lowered {
        case "audio/x-wav", "audio/wave", "audio/vnd.wave": return wav
        case "image/jpg", "image/pjpeg": return jpeg
        default: return lowered
        }
    }

    /// The media type a payload's first bytes show: JPEG, PNG, WAV; nil when none matches.
    public static func sniff(_ bytes: some Collection<UInt8>) -> String? {
        let head = Array(bytes.prefix(12))
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return jpeg }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return png }
        if head.count == 12, head.starts(with: Array("RIFF".utf8)), Array(head[8..<12]) == Array("WAVE".utf8) { return wav }
        return nil
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}
