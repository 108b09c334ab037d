// The part of picomatch's API phpasync uses (the package ships no types).
declare module 'picomatch' {
  interface ScanResult {
    base: string;
    glob: string;
    isGlob: boolean;
  }
  interface Options {
    dot?: boolean;
  }
  function picomatch(pattern: string | string[], options?: Options): (input: string) => boolean;
  namespace picomatch {
    function scan(pattern: string): ScanResult;
  }
  export default picomatch;
}
