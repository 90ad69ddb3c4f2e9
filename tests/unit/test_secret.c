/* Unit tests of manifest_env_is_secret(): which NAME=value strings are redacted. */
#include <stdbool.h>
#include <stdio.h>

#include "manifest.h"

static int failures;

static void expect(const char *env, bool want)
{
	bool got = manifest_env_is_secret(env);

	if (got != want) {
		failures++;
		fprintf(stderr, "manifest_env_is_secret(\"%s\") = %s, want %s\n",
			env, got ? "true" : "false", want ? "true" : "false");
	}
}

int main(void)
{
	/* each keyword, in the name */
	expect("MY_API_TOKEN=hunter2", true);
	expect("GITHUB_TOKEN=ghp_x", true);
	expect("TOKEN=x", true);
	expect("AWS_SECRET_ACCESS_KEY=abc", true);
	expect("SECRET=1", true);
	expect("DB_PASSWORD=swordfish", true);
	expect("MYSQL_PWD_PASSWD=x", true);
	expect("PASSWD=x", true);
	expect("STRIPE_APIKEY=x", true);
	expect("OPENAI_API_KEY=sk-x", true);
	expect("SSH_PRIVATE_KEY=-----BEGIN", true);
	expect("GOOGLE_APPLICATION_CREDENTIALS=/path", true);
	expect("CREDENTIAL=x", true);
	/* case-insensitive */
	expect("my_api_token=x", true);
	expect("db_Password=x", true);
	expect("ApiKey=x", true);
	expect("secret_thing=x", true);
	expect("private_key=x", true);
	/* an empty value is still a secret name */
	expect("TOKEN=", true);
	expect("MY_SECRET=", true);
	/* the keyword anywhere in the name */
	expect("TOKENIZER_PATH=/x", true);
	expect("XSECRETX=1", true);

	/* ordinary variables */
	expect("HOME=/root", false);
	expect("PATH=/usr/local/bin:/usr/bin:/bin", false);
	expect("LANG=C.UTF-8", false);
	expect("TERM=xterm", false);
	expect("LD_LIBRARY_PATH=/opt/lib", false);
	/* keywords only in the value do not count */
	expect("HARMLESS=my_token_value", false);
	expect("NOTE=SECRET", false);
	expect("X=PASSWORD=hunter2", false);
	expect("A=B_API_KEY=C", false);
	/* near misses */
	expect("TOKE=1", false);
	expect("PASS=1", false);
	expect("PASSWORT=1", false);
	expect("API=1", false);
	expect("KEY=1", false);
	expect("KEYBOARD=us", false);
	expect("PRIVATE=1", false);
	expect("CREDENTIA=1", false);
	expect("API-KEY=1", false);
	expect("=TOKEN", false);

	if (failures)
		fprintf(stderr, "test_secret: %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
