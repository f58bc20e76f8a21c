import Foundation

/// Writes small ONNX models (protobuf `ModelProto`) for tests: a graph of standard operators over
/// typed inputs, so that every exchangeable element type can be run through real ONNX Runtime
/// without keeping model files in the repository.
public struct ONNXModelWriter {
    /// ONNX `TensorProto.DataType` numbers.
    public enum DataType: UInt64 { case float = 1, uint8 = 2, int32 = 6, int64 = 7, bool = 9, double = 11 }

    public struct Value {
        public var name: String
        public var type: DataType
        /// A number for a fixed dimension, a name for a symbolic one.
        public var shape: [Dimension]
        public init(name: String, type: DataType, shape: [Dimension]) { (self.name, self.type, self.shape) = (name, type, shape) }
    }
    public enum Dimension { case fixed(Int), named(String) }

    public struct Node {
        public var op: String
        public var inputs: [String]
        public var outputs: [String]
        /// Integer attributes (e.g. Cast's `to`).
        public var intAttributes: [String: Int] = [:]
        public init(op: String, inputs: [String], outputs: [String], intAttributes: [String: Int] = [:]) {
            (self.op, self.inputs, self.outputs, self.intAttributes) = (op, inputs, outputs, intAttributes)
        }
    }

    /// A constant float tensor stored in the model (ONNX initializer).
    public struct Initializer {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        /// When set, the values are stored in this external data file (a name relative to the model's
        /// folder, as ONNX's `location`) instead of inside the model; ``write(to:)`` writes it.
        public var externalFile: String?
        public init(name: String, shape: [Int], values: [Float], externalFile: String? = nil) {
            (self.name, self.shape, self.values, self.externalFile) = (name, shape, values, externalFile)
        }
    }

    public var inputs: [Value]
    public var outputs: [Value]
    public var nodes: [Node]
    public var initializers: [Initializer] = []
    public var opset = 13

    public init(inputs: [Value], outputs: [Value], nodes: [Node], initializers: [Initializer] = [], opset: Int = 13) {
        (self.inputs, self.outputs, self.nodes, self.initializers, self.opset) = (inputs, outputs, nodes, initializers, opset)
    }

    /// Writes the model to `path` and its initializers' external data files next to it.
    public func write(to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        for (file, bytes) in externalData() {
            try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + file))
        }
        try Data(serialized()).write(to: URL(fileURLWithPath: path))
    }

    /// The external data files' contents: the values of their initializers one after the other.
    public func externalData() -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        for initializer in initializers {
            guard let file = initializer.externalFile else { continue }
            files[file, default: []] += initializer.values.withUnsafeBytes { Array($0) }
        }
        return files
    }

    public func serialized() -> [UInt8] {
        var graph = Proto()
        for (index, node) in nodes.enumerated() {
            var n = Proto()
            node.inputs.forEach { n.string(1, $0) }
            node.outputs.forEach { n.string(2, $0) }
            n.string(3, "node\(index)")
            n.string(4, node.op)
            for (name, value) in node.intAttributes.sorted(by: { $0.key < $1.key }) {
                var a = Proto()
                a.string(1, name)
                a.varint(3, UInt64(value))
                a.varint(20, 2)  // AttributeType.INT
                n.message(5, a)
            }
            graph.message(1, n)
        }
        graph.string(2, "test")
        var offsets: [String: Int] = [:]
        for initializer in initializers {
            var t = Proto()
            initializer.shape.forEach { t.varint(1, UInt64($0)) }
            t.varint(2, DataType.float.rawValue)
            t.string(8, initializer.name)
            let bytes = initializer.values.withUnsafeBytes { Array($0) }  // little-endian hosts
            if let file = initializer.externalFile {
                let offset = offsets[file, default: 0]
                offsets[file] = offset + bytes.count
                for (key, value) in [("location", file), ("offset", String(offset)), ("length", String(bytes.count))] {
                    var entry = Proto()
                    entry.string(1, key)
                    entry.string(2, value)
                    t.message(13, entry)
                }
                t.varint(14, 1)  // DataLocation.EXTERNAL
            } else {
                t.data(9, bytes)
            }
            graph.message(5, t)
        }
        inputs.forEach { graph.message(11, Self.valueInfo($0)) }
        outputs.forEach { graph.message(12, Self.valueInfo($0)) }
        var model = Proto()
        model.varint(1, 8)  // ir_version
        var opsetId = Proto()
        opsetId.string(1, "")
        opsetId.varint(2, UInt64(opset))
        model.message(8, opsetId)
        model.message(7, graph)
        return model.bytes
    }

    private static func valueInfo(_ value: Value) -> Proto {
        var shape = Proto()
        for dimension in value.shape {
            var d = Proto()
            switch dimension {
            case .fixed(let size): d.varint(1, UInt64(size))
            case .named(let name): d.string(2, name)
            }
            shape.message(1, d)
        }
        var tensorType = Proto()
        tensorType.varint(1, value.type.rawValue)
        tensorType.message(2, shape)
        var type = Proto()
        type.message(1, tensorType)
        var info = Proto()
        info.string(1, value.name)
        info.message(2, type)
        return info
    }

    /// Minimal protobuf encoder: varint and length-delimited fields.
    private struct Proto {
        var bytes: [UInt8] = []
        mutating func raw(_ value: UInt64) {
            var v = value
            while v >= 0x80 { bytes.append(UInt8(v & 0x7f) | 0x80); v >>= 7 }
            bytes.append(UInt8(v))
        }
        mutating func varint(_ field: UInt64, _ value: UInt64) { raw(field << 3); raw(value) }
        mutating func data(_ field: UInt64, _ payload: [UInt8]) { raw(field << 3 | 2); raw(UInt64(payload.count)); bytes += payload }
        mutating func string(_ field: UInt64, _ s: String) { data(field, Array(s.utf8)) }
        mutating func message(_ field: UInt64, _ m: Proto) { data(field, m.bytes) }
    }
}
