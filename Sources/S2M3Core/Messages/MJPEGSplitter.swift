/// Splits a stream of concatenated JPEG files (MJPEG, as `ffmpeg -f mjpeg -` writes it) into
/// frames: each frame runs from a start-of-image marker (`FF D8`) to the next end-of-image marker
/// (`FF D9`). Bytes outside a frame are skipped; a frame longer than `maxFrameBytes` is dropped
/// (counted in ``discarded``) rather than buffered without bound.
public struct MJPEGSplitter: Sendable {
    public let maxFrameBytes: Int
    private var buffer: [UInt8] = []
    private var inFrame = false
    /// Frames dropped for passing `maxFrameBytes`.
    public private(set) var discarded = 0

    public init(maxFrameBytes: Int = 16 << 20) {
        precondition(maxFrameBytes >= 4)
        self.maxFrameBytes = maxFrameBytes
    }

    /// Feeds bytes; returns the frames they completed, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        for byte in bytes {
            if !inFrame {
                // Looking for FF D8.
                if buffer.last == 0xFF, byte == 0xD8 {
                    buffer = [0xFF, 0xD8]
                    inFrame = true
                } else {
                    buffer = byte == 0xFF ? [0xFF] : []
                }
                continue
            }
            buffer.append(byte)
            if byte == 0xD9, buffer.count >= 4, buffer[buffer.count - 2] == 0xFF {
                frames.append(buffer)
                buffer = []
                inFrame = false
            } else if buffer.count > maxFrameBytes {
                discarded += 1
                buffer = []
                inFrame = false
            }
        }
        return frames
    }
}
