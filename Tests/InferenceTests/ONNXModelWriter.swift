/// Writes small ONNX models (protobuf `ModelProto`) for tests: a graph of standard operators over
/// typed inputs, so that every exchangeable element type can be run through real ONNX Runtime
/// without keeping model files in the repository.
struct ONNXModelWriter {
    /// ONNX `TensorProto.DataType` numbers.
    enum DataType: UInt64 { case float = 1, uint8 = 2, int32 = 6, int64 = 7, bool = 9, double = 11 }

    struct Value {
        var name: String
        var type: DataType
        /// A number for a fixed dimension, a name for a symbolic one.
        var shape: [Dimension]
    }
    enum Dimension { case fixed(Int), named(String) }

    struct Node {
        var op: String
        var inputs: [String]
        var outputs: [String]
        /// Integer attributes (e.g. Cast's `to`).
        var intAttributes: [String: Int] = [:]
    }

    /// A constant float tensor stored in the model (ONNX initializer).
    struct Initializer {
        var name: String
        var shape: [Int]
        var values: [Float]
    }

    var inputs: [Value]
    var outputs: [Value]
    var nodes: [Node]
    var initializers: [Initializer] = []
    var opset = 13

    func serialized() -> [UInt8] {
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
        for initializer in initializers {
            var t = Proto()
            initializer.shape.forEach { t.varint(1, UInt64($0)) }
            t.varint(2, DataType.float.rawValue)
            t.string(8, initializer.name)
            t.data(9, initializer.values.withUnsafeBytes { Array($0) })  // little-endian hosts
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
