import Foundation

#if S2M3_LIBFUZZER
/// libFuzzer's entry point (built by scripts/fuzz.sh with `-sanitize=fuzzer`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    FuzzTarget.selected.run(bytes)
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM links an executable's `main` to `<module>_main`: hand the process to libFuzzer's driver.
@_cdecl("s2m3_fuzz_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc, arguments = argv
    return runFuzzerDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
#else
/// Without libFuzzer: `S2M3_FUZZ_TARGET=name s2m3-fuzz FILE…` replays inputs (a crash libFuzzer
/// saved, a fixture) through one target and prints how each ended; `s2m3-fuzz --write-seeds DIR`
/// writes seed bundles (scripts/fuzz.sh).
@main
struct FuzzReplay {
    static func main() {
        if CommandLine.arguments.count == 3, CommandLine.arguments[1] == "--write-seeds" {
            do {
                try FuzzSeedBundles.write(to: CommandLine.arguments[2])
            } catch {
                print("cannot write the seed bundles: \(error)")
                exit(1)
            }
            return
        }
        let target = FuzzTarget.selected
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                continue
            }
            target.run([UInt8](data))
            print("\(path): \(data.count) bytes, no crash (\(target.rawValue))")
        }
    }
}
#endif
