import Foundation
import S2M3Core
import TestSupport
import Testing

extension RuntimeSuites {
    /// `s2m3 run --tensor name=FILE` end to end on a small real model (y = x + w, run by ONNX Runtime).
    @Suite("s2m3 run --tensor")
    struct TensorOptionTests {
        static func npy(_ descr: String, shape: String, data: [UInt8]) -> [UInt8] {
            var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            let length = header.utf8.count
            return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xff), UInt8(length >> 8)] + Array(header.utf8) + data
        }

        static func floats(_ values: [Float]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

        func run(_ arguments: [String]) throws -> (status: Int32, output: Data, error: String) {
            let testBundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            let process = Process()
            process.executableURL = testBundle.deletingLastPathComponent().appendingPathComponent("s2m3")
            process.arguments = arguments
            let output = Pipe(), error = Pipe()
            process.standardOutput = output
            process.standardError = error
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            let message = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, data, message)
        }

        @Test(".npy and .safetensors tensors reach the model; a wrong dtype or shape is refused naming the input")
        func roundTrip() throws {
            let directory = NSTemporaryDirectory() + "tensor-option-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try ONNXModelWriter(
                inputs: [.init(name: "x", type: .float, shape: [.fixed(4)])], outputs: [.init(name: "y", type: .float, shape: [.fixed(4)])],
                nodes: [.init(op: "Add", inputs: ["x", "w"], outputs: ["y"])],
                initializers: [.init(name: "w", shape: [4], values: [1, 2, 3, 4])]
            ).write(to: directory + "/add.onnx")
            let catalog = #"""
            {"modules": [{"id": "add", "kind": "onnx", "file": "add.onnx",
              "inputs": [{"name": "x", "dtype": "float32", "shape": [4]}], "outputs": [{"name": "y", "dtype": "float32", "shape": [4]}]}],
             "tasks": [{"id": "add-task", "inputs": ["x"], "nodes": [{"id": "sum", "module": "add", "inputs": ["x"]}]}]}
            """#
            try catalog.write(toFile: directory + "/catalog.json", atomically: true, encoding: .utf8)
            let common = ["--catalog", directory + "/catalog.json", "--models", directory, "--json"]
            try Data(Self.npy("<f4", shape: "(4,)", data: Self.floats([10, 20, 30, 40]))).write(to: URL(fileURLWithPath: directory + "/x.npy"))
            try Data(TensorBundle(tensors: ["x": BundleTensor(floats: [5, 6, 7, 8])]).encoded()).write(to: URL(fileURLWithPath: directory + "/x.safetensors"))
            for (file, expected) in [("x.npy", [Float(11), 22, 33, 44]), ("x.safetensors", [Float(6), 8, 10, 12])] {
                let (status, data, error) = try run(["run", "add-task", "--tensor", "x=\(directory)/\(file)"] + common)
                #expect(status == 0, "\(error)")
                let result = try JSONDecoder().decode(TaskResult.self, from: data)
                #expect(result.outputs["sum"] == .embedding(expected), "\(file): \(result.outputs)")
            }
            try Data(Self.npy("<i8", shape: "(4,)", data: [UInt8](repeating: 0, count: 32))).write(to: URL(fileURLWithPath: directory + "/i.npy"))
            let wrongType = try run(["run", "add-task", "--tensor", "x=\(directory)/i.npy"] + common)
            #expect(wrongType.status != 0 && wrongType.error.contains("--tensor x: is I64, the task's input is float32"), "\(wrongType.error)")
            try Data(Self.npy("<f4", shape: "(2, 2)", data: Self.floats([1, 2, 3, 4]))).write(to: URL(fileURLWithPath: directory + "/s.npy"))
            let wrongShape = try run(["run", "add-task", "--tensor", "x=\(directory)/s.npy"] + common)
            #expect(wrongShape.status != 0 && wrongShape.error.contains("has shape [2, 2]"), "\(wrongShape.error)")
            let unknown = try run(["run", "add-task", "--tensor", "y=\(directory)/x.npy"] + common)
            #expect(unknown.status != 0 && unknown.error.contains("has no input 'y'"), "\(unknown.error)")
        }
    }
}
