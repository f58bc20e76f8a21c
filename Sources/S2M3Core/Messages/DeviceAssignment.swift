/// `devices/{device}/assignment` (retained): the modules the planner wants one device to host.
/// The device loads exactly these (by catalog digest) and unloads the rest, or refuses when they
/// would overrun its memory budget; it reports the outcome in its telemetry.
public struct DeviceAssignment: ControlMessage {
    public static let schema = "s2m3.device-assignment/1"

    public struct HostedModule: Codable, Sendable, Hashable {
        public var module: String
        /// The catalog digest of the module (weights and interface); the device loads this exact one.
        public var digest: String
        /// Memory the planner counted for it, bytes.
        public var memoryBytes: Int
        public init(module: String, digest: String, memoryBytes: Int) {
            self.module = module
            self.digest = digest
            self.memoryBytes = memoryBytes
        }
    }

    /// The epoch of the plan this assignment belongs to.
    public var epoch: Int
    public var device: String
    public var modules: [HostedModule]
    public var timestampMs: Int

    public init(epoch: Int, device: String, modules: [HostedModule], timestampMs: Int) {
        self.epoch = epoch
        self.device = device
        self.modules = modules
        self.timestampMs = timestampMs
    }

    /// Most modules one assignment may list (as a placement instance's `Bounds.maxModules`).
    public static let maxModules = 4096

    /// Memory the planner counted for all hosted modules, bytes.
    public var totalMemoryBytes: Int { modules.reduce(0) { $0 + $1.memoryBytes } }

    public func properties() -> MessageProperties {
        MessageProperties(contentType: MediaType.json, userProperties: [.init(MessageProperties.epochName, String(epoch))])
    }

    public func validate() throws(MessageError) {
        try MessageCheck.within(epoch, ValueRange.epoch, "epoch")
        try MessageCheck.identifier(device, "device")
        // With at most this many modules of at most ValueRange.bytes each, every memory sum fits.
        try MessageCheck.within(modules.count, 0...Self.maxModules, "modules (count)")
        try MessageCheck.identifierList(modules.map(\.module), "modules.module")
        for (index, hosted) in modules.enumerated() {
            try MessageCheck.nonEmpty(hosted.digest, "modules[\(index)].digest", maxLength: 256)
            guard !hosted.digest.contains(where: \.isWhitespace) else {
                throw MessageError(.invalidField, field: "modules[\(index)].digest", "must not contain whitespace")
            }
            try MessageCheck.within(hosted.memoryBytes, ValueRange.bytes, "modules[\(index)].memoryBytes")
        }
        try MessageCheck.within(timestampMs, ValueRange.timestampMs, "timestampMs")
    }
}
