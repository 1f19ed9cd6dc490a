// ESM entry of `tripwire/opossum`: opossum 9's CircuitBreaker class as the default
// export (as `import CircuitBreaker from 'opossum'`), the same class as require() gives.
import { createRequire } from 'node:module';

const CircuitBreaker = createRequire(import.meta.url)('./opossum.js');

export default CircuitBreaker;
