import Foundation

/// Reads a NumPy `.npy` file (format versions 1–3) into a ``BundleTensor``: little-endian `<f4`,
/// `<f2`, `<i8`, `<i4`, `|u1` and `|b1` in C order. Everything from outside is checked before it is
/// used: the header length against `maxHeaderBytes`, each dimension and their product (no overflow),
/// and the data length against the shape exactly.
public enum NPYFile {
    public struct ReadError: Error, Sendable, Hashable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public static let defaultMaxHeaderBytes = 64 * 1024

    public static func tensor(_ bytes: [UInt8], maxHeaderBytes: Int = defaultMaxHeaderBytes) throws(ReadError) -> BundleTensor {
        let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw ReadError(message: "not a .npy file (no \\x93NUMPY magic)") }
        let major = bytes[6]
        let lengthBytes = major == 1 ? 2 : 4
        guard (1...3).contains(major), bytes.count >= 8 + lengthBytes else { throw ReadError(message: "unsupported .npy version \(major)") }
        let headerLength = bytes[8..<(8 + lengthBytes)].reversed().reduce(0) { $0 << 8 | Int($1) }
        let start = 8 + lengthBytes
        guard headerLength <= maxHeaderBytes else { throw ReadError(message: "the .npy header is \(headerLength) bytes, over \(maxHeaderBytes)") }
        guard headerLength <= bytes.count - start else { throw ReadError(message: "the .npy header runs past the end of the file") }
        let header = String(decoding: bytes[start..<(start + headerLength)], as: UTF8.self)
        guard let descr = field("descr", in: header).flatMap(quoted) else { throw ReadError(message: "the .npy header has no 'descr'") }
        guard field("fortran_order", in: header) == "False" else { throw ReadError(message: "Fortran-order arrays are not supported; save with C order") }
        let types: [String: TensorDType] = ["<f4": .f32, "<f2": .f16, "<i8": .i64, "<i4": .i32, "|u1": .u8, "<u1": .u8, "|b1": .bool]
        guard let dtype = types[descr] else {
            throw ReadError(message: "dtype '\(descr)' is not supported; use one of float32, float16, int64, int32, uint8, bool (little-endian)")
        }
        let shape = try dimensions(in: header)
        var count = 1
        for size in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw ReadError(message: "shape \(shape) is too large") }
            count = product
        }
        let data = bytes[(start + headerLength)...]
        let (expected, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, data.count == expected else {
            throw ReadError(message: "shape \(shape) of \(descr) needs \(expected) data bytes, the file has \(data.count)")
        }
        do { return try BundleTensor(dtype: dtype, shape: shape, bytes: data) } catch { throw ReadError(message: error.description) }
    }

    /// The text after `'key':` up to the next top-level comma or closing brace.
    static func field(_ key: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(key)':") else { return nil }
        var depth = 0
        var value = ""
        for character in header[range.upperBound...] {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if depth == 0, character == "," || character == "}" { break }
            value.append(character)
        }
        return value.trimmingCharacters(in: .whitespaces)
    }

    static func quoted(_ text: String) -> String? {
        guard text.count >= 2, text.first == "'", text.last == "'" else { return nil }
        return String(text.dropFirst().dropLast())
    }

    static func dimensions(in header: String) throws(ReadError) -> [Int] {
        guard let text = field("shape", in: header), text.first == "(", text.last == ")" else {
            throw ReadError(message: "the .npy header has no 'shape' tuple")
        }
        var shape: [Int] = []
        for part in text.dropFirst().dropLast().split(separator: ",") {
            let digits = part.trimmingCharacters(in: .whitespaces)
            guard let size = Int(digits), size >= 0 else { throw ReadError(message: "shape dimension '\(digits)' is not a size") }
            shape.append(size)
        }
        guard shape.count <= 8 else { throw ReadError(message: "shape \(shape) has more than 8 dimensions") }
        return shape
    }
}
