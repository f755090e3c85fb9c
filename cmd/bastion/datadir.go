package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"

	"github.com/bastion-ssh/bastion/config"
	"github.com/bastion-ssh/bastion/store"
)

// devDataDir is where `bastion dev` keeps everything.
const devDataDir = ".bastion-dev"

func dbPath(dataDir string) string { return filepath.Join(dataDir, "bastion.db") }

// logDir holds the append-only Merkle log of session digests.
func logDir(dataDir string) string { return filepath.Join(dataDir, "log") }

// dataFlags adds --data and --config to a command that reads the store.
type dataFlags struct {
	data   *string
	config *string
}

func addDataFlags(fs *flag.FlagSet) dataFlags {
	return dataFlags{
		data:   fs.String("data", "", "data directory (default: $BASTION_DATA, the config's data_dir, or ./"+devDataDir+")"),
		config: fs.String("config", "", "config file whose data_dir to use"),
	}
}

// dir finds the data directory: --data, then $BASTION_DATA, then the
// config's data_dir, then ./.bastion-dev when it exists.
func (d dataFlags) dir() (string, error) {
	switch {
	case *d.data != "":
		return *d.data, nil
	case os.Getenv("BASTION_DATA") != "":
		return os.Getenv("BASTION_DATA"), nil
	case *d.config != "":
		cfg, err := config.Load(*d.config)
		if err != nil {
			return "", err
		}
		return cfg.DataDir, nil
	}
	if st, err := os.Stat(devDataDir); err == nil && st.IsDir() {
		return devDataDir, nil
	}
	return "", errors.New("no data directory: pass --data DIR or --config FILE, set $BASTION_DATA, or run beside `bastion dev`")
}

// openStore opens the store: PostgreSQL when --config names one (and no
// --data or $BASTION_DATA points elsewhere), else the data directory's
// SQLite database, which must exist: a typo in --data must not create an
// empty database and report no sessions.
func (d dataFlags) openStore() (*store.Store, error) {
	c, err := d.storeConfig()
	if err != nil {
		return nil, err
	}
	// No caller context here: opening is bounded by the database's own
	// timeouts.
	return store.Connect(context.Background(), c)
}

// storeConfig says which store openStore opens.
func (d dataFlags) storeConfig() (store.Config, error) {
	if *d.data == "" && os.Getenv("BASTION_DATA") == "" && *d.config != "" {
		cfg, err := config.Load(*d.config)
		if err != nil {
			return store.Config{}, err
		}
		if cfg.Store.Postgres != nil {
			return configStore(cfg)
		}
	}
	dir, err := d.dir()
	if err != nil {
		return store.Config{}, err
	}
	if _, err := os.Stat(dbPath(dir)); err != nil {
		return store.Config{}, errors.New("no bastion database in " + dir)
	}
	return store.Config{SQLitePath: dbPath(dir)}, nil
}

// configStore is the store a config names: PostgreSQL when
// store.postgres is set, else DATA_DIR/bastion.db.
func configStore(cfg *config.Config) (store.Config, error) {
	dsn, err := cfg.PostgresDSN()
	if err != nil {
		return store.Config{}, err
	}
	return store.Config{SQLitePath: dbPath(cfg.DataDir), PostgresDSN: dsn, DataDir: cfg.DataDir}, nil
}
