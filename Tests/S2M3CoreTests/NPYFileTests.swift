import S2M3Core
import Testing

@Suite("NPY files")
struct NPYFileTests {
    static func npy(_ descr: String, shape: String, fortran: String = "False", data: [UInt8]) -> [UInt8] {
        let header = "{'descr': '\(descr)', 'fortran_order': \(fortran), 'shape': \(shape), }\n"
        let length = header.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xff), UInt8(length >> 8)] + Array(header.utf8) + data
    }

    @Test("dtypes and shapes are read as written")
    func reads() throws {
        let floats = try NPYFile.tensor(Self.npy("<f4", shape: "(2, 2)", data: [Float(1), 2, 3, 4].withUnsafeBytes { Array($0) }))
        #expect(floats.dtype == .f32 && floats.shape == [2, 2])
        #expect(try floats.floats() == [1, 2, 3, 4])
        let scalar = try NPYFile.tensor(Self.npy("<i8", shape: "()", data: [7, 0, 0, 0, 0, 0, 0, 0]))
        #expect(scalar.shape == [])
        #expect(try scalar.int64s() == [7])
        #expect(try NPYFile.tensor(Self.npy("|u1", shape: "(3,)", data: [1, 2, 3])).shape == [3])
    }

    @Test("bad files are clear errors, checked before any allocation")
    func refuses() {
        let cases: [([UInt8], String)] = [
            (Array("not numpy at all".utf8), "magic"),
            (Self.npy(">f4", shape: "(1,)", data: [0, 0, 0, 0]), "'>f4' is not supported"),
            (Self.npy("<f8", shape: "(1,)", data: [UInt8](repeating: 0, count: 8)), "'<f8' is not supported"),
            (Self.npy("<f4", shape: "(2,)", fortran: "True", data: [UInt8](repeating: 0, count: 8)), "Fortran"),
            (Self.npy("<f4", shape: "(3,)", data: [0, 0, 0, 0]), "needs 12 data bytes, the file has 4"),
            (Self.npy("<f4", shape: "(4294967296, 4294967296, 4294967296)", data: []), "too large"),
            (Self.npy("<f4", shape: "(-1,)", data: []), "not a size"),
            ([0x93] + Array("NUMPY".utf8) + [1, 0, 0xff, 0xff], "runs past the end"),
        ]
        for (bytes, expected) in cases {
            do {
                _ = try NPYFile.tensor(bytes)
                Issue.record("accepted: \(expected)")
            } catch {
                #expect(error.message.contains(expected), "\(error.message)")
            }
        }
        #expect(throws: NPYFile.ReadError.self) { try NPYFile.tensor(Self.npy("<f4", shape: "(1,)", data: [0, 0, 0, 0]), maxHeaderBytes: 10) }
    }
}
