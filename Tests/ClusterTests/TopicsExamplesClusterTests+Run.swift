import Catalog
import Foundation
import LocalBroker
import S2M3Core
import Testing

extension TopicsExamplesClusterTests {
    /// Runs a shell example in `directory` (where `cat.jpg` is a fixture photo) and returns the JSON
    /// answer its `mosquitto_sub` printed.
    static func runShell(_ script: String, in directory: String, example: String) async throws -> [String: Any] {
        let file = directory + "/example-\(UUID().uuidString.prefix(8)).sh"
        try script.write(toFile: file, atomically: true, encoding: .utf8)
        let shell = try ChildProcess.spawn(
            "/bin/bash", ["-c", "cd '\(directory)' && exec timeout 60 bash '\(file)'"], stdout: .pipe, stderr: .null)
        var text = ""
        for await line in shell.outputLines() { text += line + "\n" }
        let status = await shell.waitUntilExit()
        #expect(status == 0, "\(example) exited with \(status.map(String.init) ?? "?")")
        let last = text.split(separator: "\n").last.map(String.init) ?? ""
        guard let object = try? JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any] else {
            throw ClusterTestError("\(example) printed no JSON answer: '\(text.prefix(300))'")
        }
        return object
    }

    /// The bundle the Python safetensors example builds: its `np.frombuffer` tensors (the file it
    /// opens is the fixture photo; `json.dumps` of a string list is that list's JSON text) and its
    /// metadata, published with the bundle content type it names.
    static func sendPythonBundle(
        _ block: TopicsExampleBlock, photo: String, cluster: UpCluster, interfaces: [TaskInterface]
    ) async throws -> [String: Any] {
        let list = try #require(block.captures(#"json\.dumps\((\[[^\]]*\])\)"#).first, "no texts list")
        #expect(block.captures(#"open\("([^"]+)""#) == ["cat.jpg"])
        var bundle = TensorBundle()
        for name in block.captures(#""(\w+)": np\.frombuffer"#) {
            let bytes = name == "image" ? try [UInt8](Data(contentsOf: URL(fileURLWithPath: photo))) : Array(list.utf8)
            try bundle.set(BundleTensor(dtype: .u8, shape: [bytes.count], bytes: bytes), named: name)
        }
        let keys = block.captures(#""(s2m3\.[^"]+)":"#), values = block.captures(#""s2m3\.[^"]+": "([^"]+)""#)
        #expect(keys.count == values.count && !keys.isEmpty)
        for (key, value) in zip(keys, values) { bundle.metadata[key] = value }
        let names = Set(bundle.names)
        let task = try #require(interfaces.first { interface in
            names.isSubset(of: interface.inputs.map(\.name)) && interface.inputs.allSatisfy { !$0.required || names.contains($0.name) }
        }?.task, "no task takes the inputs \(names.sorted())")
        return try await ExternalClient.request(
            cluster.endpoint, task: task, payload: bundle.encoded(), contentType: TensorBundle.contentType,
            id: bundle.metadata["s2m3.request-id"] ?? "py-bundle", client: "topics-python-bundle")
    }
}
