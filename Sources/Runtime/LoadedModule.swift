import Catalog
import S2M3Core

/// A module ready to run: an ONNX session with its driver, or a built-in operation.
///
/// ``run(_:)`` takes a bundle whose tensors are named by the module's call inputs
/// (``ModuleManifest/callInputs``, text and media marked by content type, as ``TaskBinding`` builds
/// them) and answers a bundle named by its call outputs. Runs never block the cooperative pool
/// (ONNX Runtime work runs on the module's inference thread pool).
public protocol LoadedModule: Sendable {
    var manifest: ModuleManifest { get }
    func run(_ inputs: TensorBundle) async throws(ModuleError) -> TensorBundle
    /// Runs the module once on a dummy input of its declared call shapes (``ModuleWarmUp``), so the
    /// first real invocation is as fast as the rest. Built-ins read their tables at load and need none.
    func warmUp() async throws(ModuleError)
    /// Runs the module at the largest inputs `bounds` allow, so that its run-time working set can be
    /// measured (``ModuleMemoryProbe``). By default the same as ``warmUp()``.
    func warmUpAtLargest(_ bounds: LargestInputs) async throws(ModuleError)
}

extension LoadedModule {
    public func warmUp() async throws(ModuleError) {}
}

/// A module could not be loaded or run: what went wrong, for which module and input.
public struct ModuleError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// No module of that id in the catalog, or no implementation of its driver or operation.
        case unknownModule
        /// The weights or an asset file is missing.
        case missingFile
        /// A file's sha256 differs from the catalog's.
        case digestMismatch
        /// An input the module needs is absent.
        case missingInput
        /// An input has the wrong dtype or shape.
        case wrongInput
        /// An input is present but unusable (a corrupt image, a WAV that does not decode).
        case badInput
        /// ONNX Runtime or the operation failed.
        case runFailed
    }

    public let code: Code
    public let module: String
    /// The input (or file) concerned, when one is to blame.
    public let input: String?
    public let message: String

    public init(_ code: Code, module: String, input: String? = nil, _ message: String) {
        self.code = code
        self.module = module
        self.input = input
        self.message = message
    }

    public var description: String {
        "module '\(module)'" + (input.map { " input '\($0)'" } ?? "") + ": " + message
    }
}
