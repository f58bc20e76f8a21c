import Catalog
import Foundation
import TestSupport
import Testing

/// The committed catalog against the real model files made by scripts/setup.sh.
@Suite("Default catalog on the real models")
struct DefaultCatalogTests {
    static var repository: URL { TestPaths.repository }

    static var modelsDirectory: String { TestPaths.cache.appendingPathComponent("models").path }

    @Test("every declared sha256 matches the file the set-up made; all modules are distinct")
    func loadsWithVerifiedDigests() throws {
        let path = Self.repository.appendingPathComponent("catalog/default.json").path
        let catalog: ModuleCatalog
        do {
            catalog = try ModuleCatalog.load(path: path, modelsDirectory: Self.modelsDirectory)
        } catch {
            Issue.record("\(error) (models folder \(Self.modelsDirectory): run scripts/setup.sh with the same S2M3_CACHE)")
            return
        }
        let onnx = catalog.modules.filter { $0.kind == .onnx }
        #expect(onnx.count == 9)
        #expect(onnx.allSatisfy { $0.filePath.map(FileManager.default.fileExists(atPath:)) == true })
        #expect(Set(catalog.modules.map(\.digest)).count == catalog.modules.count)
        #expect(catalog.tasks.count == 6)
    }
}

extension DefaultCatalogTests {
    /// Runs the built `s2m3 catalog --json` (next to this test bundle): each module is loaded in its
    /// own child process, which also checks the declared interface against the ONNX file. Loading the
    /// models in this test process instead would disturb the in-process memory measurements of
    /// other suites running in parallel.
    @Test("s2m3 catalog measures every ONNX module, checks its interface and reports a saving")
    func catalogCommand() throws {
        let testBundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let executable = testBundle.deletingLastPathComponent().appendingPathComponent("s2m3").path
        try #require(FileManager.default.isExecutableFile(atPath: executable), "build s2m3 first (swift build --build-tests)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [
            "catalog", "--catalog", Self.repository.appendingPathComponent("catalog/default.json").path,
            "--models", Self.modelsDirectory, "--json",
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let modules = try #require(json["modules"] as? [[String: Any]])
        let onnx = modules.filter { $0["kind"] as? String == "onnx" }
        #expect(onnx.count == 9)
        #expect(onnx.allSatisfy { ($0["residentBytes"] as? Int ?? 0) > 1 << 20 })
        let sharing = try #require(json["sharing"] as? [String: Any])
        let shared = try #require(sharing["sharedBytes"] as? Int)
        let unshared = try #require(sharing["unsharedBytes"] as? Int)
        #expect(shared > 0 && shared < unshared)
    }
}
