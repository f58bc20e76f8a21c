import S2M3Core
import Foundation

extension PlacementInstance {
    /// Decodes and validates an instance from the JSON format documented in docs/placement.md.
    ///
    /// Every problem becomes a ``PlacementError``: syntax or type errors as `malformedInstance`
    /// (with the JSON path), absent fields as `missingField`, bad numbers as `invalidValue`, and the
    /// rules of ``validate()`` after that.
    public init(json data: Data) throws(PlacementError) {
        let wire: WireInstance
        do {
            wire = try JSONDecoder().decode(WireInstance.self, from: data)
        } catch let error as DecodingError {
            throw PlacementError(.malformedInstance, Self.describe(error))
        } catch {
            throw PlacementError(.malformedInstance, "the instance could not be read: \(error)")
        }
        self = try wire.instance()
        try validate()
    }

    /// The instance in the documented JSON format (keys sorted, so equal instances give equal bytes).
    public func jsonData() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // Encoding plain structs of strings and finite numbers cannot fail.
        return (try? encoder.encode(WireInstance(self))) ?? Data()
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text.isEmpty ? "the top level" : text
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(Self.typeName(type)); \(context.debugDescription)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(Self.typeName(type)) but found null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is missing"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                let underlying = context.underlyingError.map { " (\($0.localizedDescription))" } ?? ""
                return "the file is not valid JSON\(underlying)"
            }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "the instance could not be decoded: \(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type, is Int.Type: "a number"
        case is String.Type: "a string"
        case is Array<Any>.Type: "an array"
        default: "\(type)"
        }
    }
}

// MARK: - Wire format (every field optional, so absent fields get our own messages)

struct WireInstance: Codable {
    var devices: [WireDevice]?
    var modules: [WireModule]?
    var tasks: [WireTask]?
    var models: [WireModel]?
    var transfers: String?

    init(_ instance: PlacementInstance) {
        devices = instance.devices.map(WireDevice.init)
        modules = instance.modules.map(WireModule.init)
        tasks = instance.tasks.map(WireTask.init)
        models = instance.models.isEmpty ? nil : instance.models.map(WireModel.init)
        transfers = instance.transfers == .direct ? nil : instance.transfers.rawValue
    }

    func instance() throws(PlacementError) -> PlacementInstance {
        guard let devices else { throw PlacementError(.missingField, "'devices' is missing") }
        guard let modules else { throw PlacementError(.missingField, "'modules' is missing") }
        guard let tasks else { throw PlacementError(.missingField, "'tasks' is missing") }
        var result = PlacementInstance(devices: [], modules: [], tasks: [])
        if let transfers {
            guard let mode = PlacementTransfers(rawValue: transfers) else {
                let known = PlacementTransfers.allCases.map { "'\($0.rawValue)'" }.joined(separator: " or ")
                throw PlacementError(.invalidValue, "transfers must be \(known) (got '\(transfers.prefix(64))')")
            }
            result.transfers = mode
        }
        for (index, device) in devices.enumerated() { result.devices.append(try device.model(at: "devices[\(index)]")) }
        for (index, module) in modules.enumerated() { result.modules.append(try module.model(at: "modules[\(index)]")) }
        for (index, task) in tasks.enumerated() { result.tasks.append(try task.model(at: "tasks[\(index)]")) }
        for (index, model) in (models ?? []).enumerated() {
            guard let id = model.id else { throw PlacementError(.missingField, "models[\(index)].id is missing") }
            result.models.append(PlacementModel(id: id, modules: model.modules ?? [], description: model.description))
        }
        return result
    }
}

/// Field readers that name the entry and the field in their errors.
private func require<T>(_ value: T?, _ at: String, _ field: String) throws(PlacementError) -> T {
    guard let value else { throw PlacementError(.missingField, "\(at).\(field) is missing") }
    return value
}

/// A whole number within `range` (bytes by default), checked before it becomes an `Int`.
private func wholeNumber(
    _ value: Double, _ at: String, _ field: String, range: ClosedRange<Int> = ValueRange.bytes
) throws(PlacementError) -> Int {
    guard value.isFinite, value.rounded() == value else {
        throw PlacementError(.invalidValue, "\(at).\(field) must be a whole number (got \(value))")
    }
    guard value >= Double(range.lowerBound), value <= Double(range.upperBound) else {
        throw PlacementError(.invalidValue, "\(at).\(field) must be in \(range.lowerBound)…\(range.upperBound) (got \(value))")
    }
    return Int(value)
}

private func label(_ at: String, _ id: String?) -> String {
    id.map { "\(at) ('\($0)')" } ?? at
}

struct WireLink: Codable {
    var bandwidthMbps: Double?
    var latencyMs: Double?
}

struct WireDevice: Codable {
    var id: String?
    var memoryBytes: Double?
    var gflops: Double?
    var link: WireLink?

    init(_ device: PlacementDevice) {
        id = device.id
        memoryBytes = Double(device.memoryBytes)
        gflops = device.gflops
        link = WireLink(bandwidthMbps: device.link.bandwidthMbps, latencyMs: device.link.latencyMs)
    }

    func model(at path: String) throws(PlacementError) -> PlacementDevice {
        let at = label(path, id)
        let id = try require(id, at, "id")
        let memory = try wholeNumber(try require(memoryBytes, at, "memoryBytes"), at, "memoryBytes")
        let link = try require(link, at, "link")
        return PlacementDevice(
            id: id, memoryBytes: memory, gflops: try require(gflops, at, "gflops"),
            link: PlacementLink(
                bandwidthMbps: try require(link.bandwidthMbps, at, "link.bandwidthMbps"),
                latencyMs: try require(link.latencyMs, at, "link.latencyMs")))
    }
}

struct WireModule: Codable {
    var id: String?
    var memoryBytes: Double?
    var parameters: Double?
    var bytesPerParameter: Double?
    var gflop: Double?
    var outputBytes: Double?
    var description: String?

    init(_ module: PlacementModule) {
        id = module.id
        memoryBytes = Double(module.memoryBytes)
        parameters = module.parameters.map(Double.init)
        gflop = module.gflop
        outputBytes = Double(module.outputBytes)
        description = module.description
    }

    func model(at path: String) throws(PlacementError) -> PlacementModule {
        let at = label(path, id)
        let id = try require(id, at, "id")
        let parameterCount = try parameters.map { value throws(PlacementError) in
            try wholeNumber(value, at, "parameters")
        }
        let memory: Int
        if let memoryBytes {
            memory = try wholeNumber(memoryBytes, at, "memoryBytes")
        } else if let parameterCount {
            let perParameter = try require(bytesPerParameter, at, "bytesPerParameter (needed when memoryBytes is absent)")
            guard perParameter.isFinite, perParameter > 0, perParameter <= 64 else {
                throw PlacementError(.invalidValue, "\(at).bytesPerParameter must be a number in (0, 64] (got \(perParameter))")
            }
            // Both factors are bounded, so the product is finite; it must still be a byte count.
            let product = (Double(parameterCount) * perParameter).rounded()
            guard product <= Double(ValueRange.bytes.upperBound) else {
                throw PlacementError(
                    .invalidValue,
                    "\(at): parameters × bytesPerParameter is \(product) bytes; memoryBytes must be in 0…\(ValueRange.bytes.upperBound)")
            }
            memory = Int(product)
        } else {
            throw PlacementError(.missingField, "\(at).memoryBytes is missing (or give parameters and bytesPerParameter)")
        }
        return PlacementModule(
            id: id, memoryBytes: memory, gflop: try require(gflop, at, "gflop"),
            outputBytes: try wholeNumber(try require(outputBytes, at, "outputBytes"), at, "outputBytes"),
            parameters: parameterCount, description: description)
    }
}

struct WireTaskInput: Codable {
    var id: String?
    var bytes: Double?
}

struct WireNode: Codable {
    var id: String?
    var module: String?
    var inputs: [String]?
    var models: [String]?
}

struct WireTask: Codable {
    var id: String?
    var rate: Double?
    var priority: Double?
    var inputs: [WireTaskInput]?
    var nodes: [WireNode]?

    init(_ task: PlacementTask) {
        id = task.id
        rate = task.rate
        priority = task.priority == 1 ? nil : task.priority
        inputs = task.graph.inputs.map { WireTaskInput(id: $0.id, bytes: Double($0.bytes)) }
        nodes = task.graph.nodes.map {
            WireNode(id: $0.id, module: $0.module, inputs: $0.inputs, models: $0.models.isEmpty ? nil : $0.models)
        }
    }

    func model(at path: String) throws(PlacementError) -> PlacementTask {
        let at = label(path, id)
        let id = try require(id, at, "id")
        var graphInputs: [TaskGraph.Input] = []
        for (index, input) in (inputs ?? []).enumerated() {
            let inputAt = "\(at).inputs[\(index)]"
            graphInputs.append(
                TaskGraph.Input(
                    id: try require(input.id, inputAt, "id"),
                    bytes: try wholeNumber(input.bytes ?? 0, inputAt, "bytes")))
        }
        var graphNodes: [TaskNode] = []
        for (index, node) in try require(nodes, at, "nodes").enumerated() {
            let nodeAt = label("\(at).nodes[\(index)]", node.id)
            graphNodes.append(
                TaskNode(
                    id: try require(node.id, nodeAt, "id"), module: try require(node.module, nodeAt, "module"),
                    inputs: node.inputs ?? [], models: node.models ?? []))
        }
        return PlacementTask(
            id: id, rate: try require(rate, at, "rate"), priority: priority ?? 1,
            graph: TaskGraph(inputs: graphInputs, nodes: graphNodes))
    }
}

struct WireModel: Codable {
    var id: String?
    var modules: [String]?
    var description: String?

    init(_ model: PlacementModel) {
        id = model.id
        modules = model.modules
        description = model.description
    }
}
