import Foundation
import LocalCluster
import Logging
import MQTTBus
import S2M3Client
import S2M3Core

/// The demo: real photos, speech and a scanned page from the set-up's fixtures through every task
/// of the default catalog, over the broker via ``S2M3Client``, each result printed with its
/// timeline (which device ran each module, queue wait, compute and time on the bus).
struct DemoRunner {
    let broker: MQTTBrokerConfiguration
    let root: String
    var fixtures: String = DemoRunner.defaultFixtures
    var timeout: Duration = .seconds(30)

    /// `${S2M3_CACHE:-.cache}/fixtures` (made by scripts/setup.sh).
    static var defaultFixtures: String { CacheDirectory.fixtures }

    static let captions = [
        "a photo of a cat", "a photo of a dog", "a cup of coffee", "a rocket on a launch pad", "a person riding a motorcycle",
    ]
    static let commands = ["turn on the conveyor", "stop the line", "open the gate", "start the camera", "raise the alarm"]

    struct Case {
        let task: String
        /// What was sent, in words.
        let label: String
        let inputs: [String: TaskInput]
    }

    func cases() throws -> [Case] {
        func media(_ name: String, _ type: String) throws -> TaskInput {
            let path = (fixtures as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DemoError("missing fixture \(path): run scripts/setup.sh (or pass --fixtures)")
            }
            return .media(contentType: type, bytes: [UInt8](data))
        }
        let cat = try media("chelsea.jpg", "image/jpeg")
        let sentence = try media("sentence-inspection.wav", "audio/wav")
        var cases = [
            Case(task: "classify-image", label: "chelsea.jpg", inputs: ["image": cat]),
            Case(task: "match-image-text", label: "chelsea.jpg and \(Self.captions.count) captions",
                 inputs: ["image": cat, "texts": .texts(Self.captions)]),
            Case(task: "transcribe", label: "sentence-inspection.wav", inputs: ["audio": sentence]),
        ]
        for command in Self.commands {
            let file = "cmd-" + command.replacingOccurrences(of: " the ", with: "-").replacingOccurrences(of: " ", with: "-") + ".wav"
            cases.append(Case(task: "voice-command", label: "\(file) (says \"\(command)\")",
                              inputs: ["audio": try media(file, "audio/wav"), "commands": .texts(Self.commands)]))
        }
        cases.append(Case(task: "read-text", label: "ocr-inspection.png", inputs: ["image": try media("ocr-inspection.png", "image/png")]))
        cases.append(Case(task: "describe-scene", label: "chelsea.jpg and sentence-inspection.wav", inputs: ["image": cat, "audio": sentence]))
        return cases
    }

    /// Sends every case in turn and prints the answers; true when every case got a result.
    func run() async -> Bool {
        let cases: [Case]
        do {
            cases = try self.cases()
        } catch {
            print("demo: \(error)")
            return false
        }
        var logger = Logger(label: "s2m3.demo")
        logger.logLevel = .warning
        let client = S2M3Client(broker: broker, clientID: broker.username ?? "s2m3-demo-\(getpid())", topics: Topics(root: root), logger: logger)
        do {
            try await client.connect()
        } catch {
            print("demo: cannot connect to \(broker): \(BrokerConnectHint.explain(error, broker: broker))")
            return false
        }
        var answered = 0
        for (index, demo) in cases.enumerated() {
            print("\n[\(index + 1)/\(cases.count)] \(demo.task) ← \(demo.label)")
            let start = ContinuousClock.now
            do {
                let result = try await client.request(task: demo.task, inputs: demo.inputs, timeout: timeout)
                print(DemoText.result(result, roundTrip: ContinuousClock.now - start))
                answered += 1
            } catch {
                print("  failed: \(error)")
            }
            fflush(nil)
        }
        await client.close()
        print("\ndemo: \(answered) of \(cases.count) requests answered")
        return answered == cases.count
    }
}

struct DemoError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
