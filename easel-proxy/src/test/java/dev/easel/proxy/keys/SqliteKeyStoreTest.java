package dev.easel.proxy.keys;

import dev.easel.proxy.spend.SpendOptions;
import java.nio.file.Path;

/** The key store contract on a SQLite file (the embedded default); replicas are other pools on the same file. */
class SqliteKeyStoreTest extends KeyStoreContract {

    @Override
    SpendOptions options(Path dataDir) {
        return SpendOptions.sqlite(dataDir).withSqlitePath(dir.resolve("shared.db"));
    }
}
