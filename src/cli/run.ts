// Runs the CLI from source (tests and development): node --import tsx --conditions=source src/cli/run.ts
import { main } from './main.js';

await main(process.argv.slice(2));
