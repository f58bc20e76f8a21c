/// A tensor bundle could not be read, written or accessed. `code` says what kind of problem it
/// is; `message` says what was wrong and what to check.
public struct TensorBundleError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Fewer than 8 bytes: not even the header length is there.
        public static let truncated = Code("truncated")
        /// The declared header length is larger than the configured limit.
        public static let headerTooLarge = Code("headerTooLarge")
        /// The declared header length runs past the end of the payload.
        public static let headerLengthBeyondPayload = Code("headerLengthBeyondPayload")
        /// The header is not UTF-8 JSON, or not a JSON object.
        public static let headerNotJSON = Code("headerNotJSON")
        /// A tensor entry lacks `dtype`, `shape` or `data_offsets`, or has the wrong JSON types.
        public static let invalidTensorEntry = Code("invalidTensorEntry")
        /// `__metadata__` is not an object of strings.
        public static let invalidMetadata = Code("invalidMetadata")
        /// A dtype this version does not support.
        public static let unsupportedDType = Code("unsupportedDType")
        /// A negative dimension, or a shape whose element count overflows.
        public static let invalidShape = Code("invalidShape")
        /// Offsets reversed or outside the data section.
        public static let offsetsOutOfBounds = Code("offsetsOutOfBounds")
        /// Two tensors share bytes.
        public static let offsetsOverlap = Code("offsetsOverlap")
        /// Bytes of the data section belong to no tensor (a gap, or trailing bytes).
        public static let unusedBytes = Code("unusedBytes")
        /// Shape × dtype size differs from the tensor's byte count.
        public static let sizeMismatch = Code("sizeMismatch")
        /// A tensor name that is empty, reserved (`__metadata__`) or given twice.
        public static let invalidTensorName = Code("invalidTensorName")
        /// A tensor was read as a type it does not hold.
        public static let wrongDType = Code("wrongDType")
        /// A tensor the caller needs is not in the bundle.
        public static let missingTensor = Code("missingTensor")
        /// A text tensor is not valid UTF-8 (or a text list not a JSON array of strings).
        public static let invalidText = Code("invalidText")
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "tensor bundle: \(message) [\(code)]" }
}
