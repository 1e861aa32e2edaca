// world-atlas ships bare TopoJSON files; Vite bundles them as modules whose default export is the JSON.
declare module 'world-atlas/land-110m.json' {
  const topology: import('topojson-specification').Topology
  export default topology
}
declare module 'world-atlas/land-50m.json' {
  const topology: import('topojson-specification').Topology
  export default topology
}
