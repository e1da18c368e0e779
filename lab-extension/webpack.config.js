// Extra webpack config merged by @jupyterlab/builder (package.json "jupyterlab.webpackConfig").
// plotly.js-dist-min ships minified: running Terser over its 4.6 MB again is most of the build time and gains
// nothing, so chunks over 1 MB are passed through; everything else is minified as usual.
const TerserPlugin = require("terser-webpack-plugin");

module.exports = {
  optimization: {
    minimizer: [
      new TerserPlugin({
        // Runs in Terser's worker threads from its source text: only `require` is in scope there.
        minify: (input, sourceMap, options, extractComments) => {
          const code = Object.values(input)[0];
          if (code.length > 1000000) return { code };
          return require("terser-webpack-plugin").terserMinify(input, sourceMap, options, extractComments);
        },
      }),
    ],
  },
};
