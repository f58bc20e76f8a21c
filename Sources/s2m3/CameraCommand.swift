import ArgumentParser
import Foundation
import Logging
import MQTTBus
import S2M3Bus
import S2M3Core

/// `s2m3 camera`: a camera on the bus (docs/streams.md). Announces the source (retained
/// `sources/{source}/state` with an `offline` last will) and publishes frames on
/// `sources/{source}/frames` at a steady rate: the images of a folder or one file (looping), or an
/// MJPEG stream on stdin (`ffmpeg -i rtsp://… -f mjpeg -`).
struct CameraCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camera",
        abstract: "Publish camera frames for a stream (from an image folder, a file, or MJPEG on stdin).",
        discussion: "Example: s2m3 camera --source cam-1 --folder frames/ --fps 10"
    )

    @Option(help: "The source id (the {source} of sources/{source}/frames).")
    var source: String

    @Option(help: ArgumentHelp("Publish the JPEG and PNG files of this folder, in name order, looping.", valueName: "dir"))
    var folder: String?

    @Option(help: ArgumentHelp("Publish this JPEG or PNG file again and again.", valueName: "file"))
    var file: String?

    @Flag(help: "Read MJPEG (concatenated JPEG files) from stdin; ends with the input.")
    var stdin = false

    @Option(help: "Frames per second (stdin: at most this many; newer frames replace unsent ones).")
    var fps: Double = 10

    @Option(help: "Stop after this many frames (0: until interrupted or the input ends).")
    var count: Int = 0

    @Option(help: "A frame's useful life (its message expiry), ms.")
    var lifeMs: Int = 2_000

    @OptionGroup var bus: BrokerOptions

    func validate() throws {
        guard Topics.isValidIdentifier(source) else { throw ValidationError("--source must be an identifier (letters, digits, '-', '_', '.')") }
        guard [folder != nil, file != nil, stdin].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --folder, --file, --stdin")
        }
        guard fps.isFinite, (0.1...240).contains(fps) else { throw ValidationError("--fps must be in 0.1…240") }
        guard count >= 0 else { throw ValidationError("--count must be 0 or more") }
        guard (1...3_600_000).contains(lifeMs) else { throw ValidationError("--life-ms must be in 1…3600000") }
    }

    func run() async throws {
        let broker = try bus.configuration()
        let topics = Topics(root: bus.topicRoot)
        let images = try loadImages()
        let presence = ServicePresence(role: .source, id: source, topics: topics)
        var logger = Logger(label: "s2m3.camera", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .warning
        let connection = MQTTConnection(
            configuration: broker.configuration(clientID: broker.username ?? "s2m3-camera-\(source)", will: try presence.will()), logger: logger)
        do { try await connection.connect() } catch { throw BrokerConnectHint.explain(error, broker: broker) }
        try await connection.publish(presence.state(.online))
        let frames = FrameSource(images: images, stdin: stdin)
        let interval = Duration.seconds(1 / fps)
        let clock = ContinuousClock()
        var next = clock.now
        var sent = 0
        while count == 0 || sent < count {
            guard let image = await frames.next() else { break }
            guard let type = MediaType.sniff(image), type == MediaType.jpeg || type == MediaType.png else { continue }
            let properties = StreamFrame.properties(contentType: type, sequence: sent, capturedMs: WallClock.milliseconds, lifeMs: lifeMs)
            try await connection.publish(MQTTMessage(
                topic: topics.sourceFrames(source), payload: image, properties: MQTTProperties(properties), on: topics))
            sent += 1
            next += interval
            if next < clock.now { next = clock.now }  // late: no burst to catch up
            try await Task.sleep(until: next)
        }
        try await connection.publish(presence.shutdown())
        await connection.disconnect()
        print("sent \(sent) frames")
    }

    private func loadImages() throws -> [[UInt8]] {
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            return [[UInt8](data)]
        }
        guard let folder else { return [] }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            .filter { [".jpg", ".jpeg", ".png"].contains(where: $0.lowercased().hasSuffix) }
        guard !names.isEmpty else { throw ValidationError("no .jpg or .png file in \(folder)") }
        return names.compactMap { FileManager.default.contents(atPath: folder + "/" + $0).map { [UInt8]($0) } }
    }
}

/// The frames a camera publishes: a list looped over, or MJPEG read from stdin (keeping only the
/// newest complete frame when the reader is faster than the rate).
actor FrameSource {
    private let images: [[UInt8]]
    private var index = 0
    private var latest: [UInt8]?
    private var ended = false
    private let stdin: Bool
    private var reader: Task<Void, Never>?

    init(images: [[UInt8]], stdin: Bool) {
        self.images = images
        self.stdin = stdin
    }

    func next() async -> [UInt8]? {
        if stdin, reader == nil { reader = Task { await self.readStandardInput() } }
        if !stdin {
            defer { index = (index + 1) % images.count }
            return images.isEmpty ? nil : images[index]
        }
        while latest == nil, !ended { try? await Task.sleep(for: .milliseconds(2)) }
        defer { latest = nil }
        return latest
    }

    private func readStandardInput() async {
        var splitter = MJPEGSplitter()
        let handle = FileHandle.standardInput
        while true {
            let chunk = await Task.detached { handle.availableData }.value
            if chunk.isEmpty { break }
            if let frame = splitter.feed(chunk).last { latest = frame }
        }
        ended = true
    }
}
