// The script of embed.html, the site's page of embedding examples (lite_build/commands/embed.py).
// Its snippets are written for a stand-in address: this writes them for the page's real address,
// then shows them, so that the HTML shown is paste-ready wherever the site is hosted.

/** The stand-in for the site's address (lite-build replaces SITE_TOKEN with it, as JSON). */
declare const SITE_TOKEN: string;

const token = SITE_TOKEN;
const site = new URL('./', location.href).href;
const forSite = (text: string) =>
  text.replaceAll(token, site).replaceAll(token.replace(/\/+$/, ''), location.origin);
document.querySelectorAll<HTMLTemplateElement>('template.embed').forEach((template) => {
  template.nextElementSibling!.innerHTML = forSite(template.innerHTML);
  const code = template.parentElement!.querySelector('pre code')!;
  code.textContent = forSite(code.textContent!);
});
