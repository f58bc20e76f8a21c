/// A problem with a catalog file: what is wrong, and which entry.
public struct CatalogError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        /// The file cannot be read or is not valid JSON in the catalog format.
        public static let invalidFormat = Code(name: "invalidFormat")
        /// A module entry is malformed (missing file, unknown dtype or kind, empty interface…).
        public static let invalidModule = Code(name: "invalidModule")
        public static let duplicateModule = Code(name: "duplicateModule")
        public static let duplicateTask = Code(name: "duplicateTask")
        /// A task node invokes a module the catalog does not declare.
        public static let unknownModule = Code(name: "unknownModule")
        /// A task's graph is invalid (unknown binding, duplicate node id, empty).
        public static let invalidTask = Code(name: "invalidTask")
        /// A task's graph has a cycle.
        public static let cycle = Code(name: "cycle")
        /// A module's weights file (or a built-in's asset) does not exist.
        public static let missingFile = Code(name: "missingFile")
        /// A file's sha256 differs from the one the catalog declares.
        public static let digestMismatch = Code(name: "digestMismatch")
        /// The interface declared in the catalog differs from the model file's own.
        public static let interfaceMismatch = Code(name: "interfaceMismatch")
        public var description: String { name }
    }

    public let code: Code
    /// The module or task id the problem is about ("" when it concerns the whole file).
    public let entry: String
    public let message: String

    public init(_ code: Code, entry: String, _ message: String) {
        self.code = code
        self.entry = entry
        self.message = message
    }

    public var description: String { entry.isEmpty ? message : "\(entry): \(message)" }
}
