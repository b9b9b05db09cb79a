from vecload.cli import main

main()
