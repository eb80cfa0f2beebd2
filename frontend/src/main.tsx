import { render } from 'preact';

render(<main><h1>Ferry</h1></main>, document.getElementById('app')!);
