import Foundation
import Testing
import TestSupport

/// The layering of docs/architecture.md, checked on the package itself (`swift package
/// dump-package`) and on the sources' imports: layers depend only downward, and the roles that read
/// no weights do not link ONNX Runtime.
@Suite("Dependency rule")
struct DependencyRuleTests {
    /// The services (layer 2) and LocalCluster (which runs them): nothing below them may depend on one.
    static let services: Set = ["Planner", "Aggregator", "S2M3Client", "DeviceAgent", "LocalCluster"]
    /// Targets that must not link ONNX Runtime, directly or through another target.
    static let withoutONNXRuntime: Set = [
        "S2M3Core", "PlacementPlanning", "Catalog", "S2M3Bus", "MQTTBus", "Planner", "Aggregator", "S2M3Client", "LocalCluster",
    ]

    struct Target {
        var name: String
        var type: String
        var dependencies: [String]
        var path: String?
    }

    static func targets() throws -> [String: Target] {
        // A scratch folder of its own: `swift test` holds the lock of the package's .build.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("s2m3-dump-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "package", "--package-path", TestPaths.repository.path, "--scratch-path", scratch.path, "dump-package"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "swift package dump-package failed")
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let list = try #require(json["targets"] as? [[String: Any]])
        var targets: [String: Target] = [:]
        for entry in list {
            let name = try #require(entry["name"] as? String)
            let dependencies = (entry["dependencies"] as? [[String: Any]] ?? []).compactMap { dependency in
                dependency.values.first.flatMap { ($0 as? [Any])?.first as? String }
            }
            targets[name] = Target(name: name, type: entry["type"] as? String ?? "", dependencies: dependencies, path: entry["path"] as? String)
        }
        return targets
    }

    static func closure(of name: String, in targets: [String: Target]) -> Set<String> {
        var seen: Set<String> = []
        var stack = targets[name]?.dependencies ?? []
        while let next = stack.popLast() {
            guard seen.insert(next).inserted else { continue }
            stack += targets[next]?.dependencies ?? []
        }
        return seen
    }

    @Test("no target below the services depends on a service", .timeLimit(.minutes(1)))
    func servicesAreOnTop() throws {
        let targets = try Self.targets()
        #expect(targets["Aggregator"] != nil && targets["S2M3Core"] != nil, "the package lists its targets")
        for target in targets.values where target.type == "regular" && !Self.services.contains(target.name) && target.name != "TestSupport" {
            let reached = Self.closure(of: target.name, in: targets).intersection(Self.services)
            #expect(reached.isEmpty, "\(target.name) depends on the service(s) \(reached.sorted())")
        }
    }

    @Test("the roles that read no weights do not link ONNX Runtime", .timeLimit(.minutes(1)))
    func noONNXRuntimeWhereNoWeights() throws {
        let targets = try Self.targets()
        for name in Self.withoutONNXRuntime.sorted() {
            try #require(targets[name] != nil, "no target \(name)")
            let closure = Self.closure(of: name, in: targets)
            #expect(!closure.contains("COnnxRuntime") && !closure.contains("Inference"), "\(name) links ONNX Runtime through \(closure.sorted())")
        }
    }

    @Test("every project module a target's sources import is a declared dependency", .timeLimit(.minutes(1)))
    func importsAreDeclared() throws {
        let targets = try Self.targets()
        let regular = targets.values.filter { ["regular", "executable"].contains($0.type) }
        for target in regular {
            let folder = TestPaths.repository.appendingPathComponent(target.path ?? "Sources/\(target.name)")
            let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)?
                .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
            #expect(!files.isEmpty, "no sources for \(target.name) in \(folder.path)")
            for file in files {
                let text = try String(contentsOf: file, encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ").filter { !["@testable", "internal", "public", "@_exported"].contains($0) }
                    guard words.count == 2, words[0] == "import" else { continue }
                    let module = String(words[1])
                    guard targets[module] != nil, module != target.name else { continue }
                    #expect(target.dependencies.contains(module), "\(file.lastPathComponent) imports \(module), not a dependency of \(target.name)")
                }
            }
        }
    }
}
