/// An error of the inference engine: what went wrong (``code``), a message saying what to check, and
/// where available ONNX Runtime's own status message, the model file and the tensor name involved.
public struct InferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure. A struct, not an enum, so that kinds can be added without breaking users.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The model file does not exist or cannot be read.
        public static let modelNotFound = Code("modelNotFound")
        /// ONNX Runtime could not load the model (corrupt file, unsupported operator or opset).
        public static let invalidModel = Code("invalidModel")
        /// A required input of the model was not given.
        public static let missingInput = Code("missingInput")
        /// An input name that the model does not have.
        public static let unknownInput = Code("unknownInput")
        /// An output name that the model does not have.
        public static let unknownOutput = Code("unknownOutput")
        /// A tensor's element type differs from the model's declared type.
        public static let wrongElementType = Code("wrongElementType")
        /// A tensor's shape differs from the model's declared shape, or does not fit its values.
        public static let wrongShape = Code("wrongShape")
        /// The model uses a value kind or element type this engine does not exchange (e.g. strings, maps).
        public static let unsupportedType = Code("unsupportedType")
        /// ONNX Runtime failed while running the model.
        public static let runFailed = Code("runFailed")
        /// The calling task was cancelled; the run was skipped or stopped.
        public static let cancelled = Code("cancelled")
        /// ONNX Runtime failed to set up (environment, options, memory).
        public static let runtimeFailure = Code("runtimeFailure")
        /// The process's resident memory could not be read.
        public static let memoryUnavailable = Code("memoryUnavailable")
    }

    public var code: Code
    /// What happened and what to check.
    public var message: String
    /// ONNX Runtime's status message, when the failure came from ONNX Runtime.
    public var runtimeMessage: String?
    /// The model file involved, when known.
    public var modelPath: String?
    /// The input or output tensor involved, when known.
    public var tensorName: String?

    public init(
        _ code: Code, _ message: String, runtimeMessage: String? = nil, modelPath: String? = nil,
        tensorName: String? = nil
    ) {
        self.code = code
        self.message = message
        self.runtimeMessage = runtimeMessage
        self.modelPath = modelPath
        self.tensorName = tensorName
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let tensorName { text += " [tensor '\(tensorName)']" }
        if let modelPath { text += " [model \(modelPath)]" }
        if let runtimeMessage { text += " (ONNX Runtime: \(runtimeMessage))" }
        return text
    }
}
