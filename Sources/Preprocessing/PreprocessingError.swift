/// An error of a built-in pre-processing operation: what went wrong (``code``), a message saying what
/// to check, and the input it concerns (a file name or an input binding), so that a request with
/// several inputs says which one was bad.
public struct PreprocessingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure; a struct so that kinds can be added without breaking users.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The input has no bytes or no samples.
        public static let emptyInput = Code("emptyInput")
        /// The bytes are not an image format this build decodes (JPEG, PNG).
        public static let unsupportedImage = Code("unsupportedImage")
        /// A JPEG or PNG that the decoder rejects (truncated, damaged).
        public static let corruptImage = Code("corruptImage")
        /// The bytes are not a RIFF/WAVE file.
        public static let notWAV = Code("notWAV")
        /// A WAV encoding this build does not decode (e.g. ADPCM, µ-law).
        public static let unsupportedAudio = Code("unsupportedAudio")
        /// A WAV file whose structure is damaged (missing or truncated chunks).
        public static let corruptAudio = Code("corruptAudio")
        /// An input over a limit checked before decoding (pixels of an image, seconds of audio).
        public static let tooLarge = Code("tooLarge")
        /// A vocabulary file that cannot be used (missing special tokens, empty).
        public static let invalidVocabulary = Code("invalidVocabulary")
        /// A `tokenizer.json` using a model, normalizer, pre-tokenizer or post-processor this build
        /// does not implement (docs/own-models.md lists the supported ones).
        public static let unsupportedTokenizer = Code("unsupportedTokenizer")
        /// A configuration value out of range (e.g. a crop larger than the resize).
        public static let invalidConfiguration = Code("invalidConfiguration")
    }

    public var code: Code
    /// What happened and what to check.
    public var message: String
    /// The input concerned (file name or input binding), when known.
    public var input: String?
    /// The underlying library's own message (libjpeg-turbo, libpng), when there is one.
    public var libraryMessage: String?

    public init(_ code: Code, _ message: String, input: String? = nil, libraryMessage: String? = nil) {
        self.code = code
        self.message = message
        self.input = input
        self.libraryMessage = libraryMessage
    }

    public var description: String {
        var text = "\(code)"
        if let input { text += " in '\(input)'" }
        text += ": \(message)"
        if let libraryMessage { text += " (\(libraryMessage))" }
        return text
    }
}
