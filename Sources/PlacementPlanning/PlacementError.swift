import S2M3Core
/// Why an instance could not be read or placed. The message says what to check.
public struct PlacementError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let name: String
        /// The file is not JSON, or a value has the wrong type.
        public static let malformedInstance = Code(name: "malformedInstance")
        /// A required field is absent.
        public static let missingField = Code(name: "missingField")
        /// A size, rate or speed is negative, zero where it must not be, not finite, or not whole.
        public static let invalidValue = Code(name: "invalidValue")
        /// Two devices, modules, tasks or models share an id.
        public static let duplicateID = Code(name: "duplicateID")
        /// A task node or model names a module that is not declared.
        public static let unknownModule = Code(name: "unknownModule")
        /// A task's graph is malformed (cycle, unknown input, duplicate node id, empty).
        public static let invalidTaskGraph = Code(name: "invalidTaskGraph")
        /// There are no devices or no tasks.
        public static let emptyInstance = Code(name: "emptyInstance")
        /// No placement fits the devices' memory (the message names what does not fit where).
        public static let infeasible = Code(name: "infeasible")
        /// The request rates need more compute than all devices have.
        public static let overloaded = Code(name: "overloaded")
        /// The search budget ran out before any placement was found.
        public static let budgetExhausted = Code(name: "budgetExhausted")
        /// A placement handed to the cost model names unknown modules or devices.
        public static let invalidPlacement = Code(name: "invalidPlacement")
        public var description: String { name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
