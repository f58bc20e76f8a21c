import Foundation

#if S2M3_LIBFUZZER
/// libFuzzer's entry point (built by scripts/fuzz.sh with `-sanitize=fuzzer`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    FuzzTarget.selected.run(bytes)
    return 0
}
#else
/// Without libFuzzer: `S2M3_FUZZ_TARGET=name s2m3-fuzz FILE…` replays inputs (a crash libFuzzer
/// saved, a fixture) through one target and prints how each ended.
@main
struct FuzzReplay {
    static func main() {
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
